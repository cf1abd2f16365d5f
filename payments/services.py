"""Money around an auction: deposit holds, settlement on close, the balance payment and the seller's payout.

Our database decides first (in a transaction); Stripe follows with idempotency keys derived from our ids, and each
Stripe step is recorded once confirmed, so a retry after a crash redoes only the steps that did not finish.
"""

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.eligibility import buyer_eligibility_check
from accounts.models import User
from auctions import selectors as auction_selectors
from auctions.models import Auction
from marketplace.errors import DomainError
from marketplace.money import quantize
from payments import ledger, stripe_client
from payments.models import Deposit, PayoutAccount, Settlement
from portfolios.services.debtor_data import portfolio_release_to_buyer

log = logging.getLogger(__name__)

ACTIVE = (Deposit.Status.PENDING, Deposit.Status.HELD)
CANCELLABLE = ("requires_payment_method", "requires_confirmation", "requires_action", "requires_capture")


class PaymentError(DomainError):
    pass


# --- Deposits -----------------------------------------------------------------------------------------------------


def _transition(deposit: Deposit, to: str, **fields: Any) -> bool:
    """Move a locked deposit to `to` if the table allows it; False (and no change) otherwise: late or repeated
    Stripe news never moves a deposit backwards."""
    if to == deposit.status:
        return False
    if to not in Deposit.TRANSITIONS.get(deposit.status, ()):
        return False
    deposit.status = to
    for name, value in fields.items():
        setattr(deposit, name, value)
    deposit.save()
    return True


def _intent_status_to_deposit(intent: stripe.PaymentIntent) -> tuple[str | None, str]:
    """What a PaymentIntent's state means for its deposit: (new status or None, failure message)."""
    status = intent.status
    if status == "requires_capture":
        return Deposit.Status.HELD, ""
    if status == "canceled":
        return Deposit.Status.RELEASED, ""
    if status == "succeeded":
        return Deposit.Status.APPLIED, ""
    error = intent.to_dict().get("last_payment_error")
    if status == "requires_payment_method" and error:
        return Deposit.Status.FAILED, str(error.get("message") or _("The card was declined."))
    return None, ""


def deposit_sync(*, deposit_id: int, intent: stripe.PaymentIntent | None = None) -> Deposit:
    """Bring a deposit in line with its PaymentIntent (retrieved unless given); safe in any order, any number of
    times. Called after our own Stripe calls, when the buyer comes back from 3-D Secure, and by webhooks."""
    deposit = Deposit.objects.get(pk=deposit_id)
    if not deposit.payment_intent:
        return deposit
    if intent is None:
        intent = stripe_client.client().v1.payment_intents.retrieve(deposit.payment_intent)
    to, message = _intent_status_to_deposit(intent)
    with transaction.atomic():
        deposit = Deposit.objects.select_for_update().get(pk=deposit_id)
        if to is not None:
            fields: dict[str, Any] = {"failure_message": message[:300]} if message else {}
            if to == Deposit.Status.HELD:
                fields["held_at"] = timezone.now()
            if _transition(deposit, to, **fields) and to == Deposit.Status.HELD:
                ledger.hold_posted(deposit=deposit)
    return deposit


def _deposit_window_check(auction: Auction) -> None:
    now = timezone.now()
    if auction.status not in Auction.OPEN or now >= auction.closes_at:
        raise PaymentError("auction_closed", _("This auction has ended."))
    opens_at = auction.closes_at - timedelta(days=settings.DEPOSIT_WINDOW_DAYS)
    if now < opens_at:
        # A card hold lapses after about 7 days: a deposit posted earlier could expire before the close.
        raise PaymentError(
            "deposit_window_not_open",
            _("Deposits for this auction open %(when)s.") % {"when": date_format(opens_at, "DATETIME_FORMAT")},
            opens_at=opens_at.isoformat().replace("+00:00", "Z"),
        )


def deposit_hold(*, user: User, auction_id: int, payment_method: str = "", request_key: str = "") -> Deposit:
    """Start (or return) the buyer's deposit hold on an auction: a PaymentIntent with manual capture.

    With `payment_method` (a `pm_...` from Stripe.js) the hold is confirmed here and the deposit comes back `held`,
    or `pending` when the card needs 3-D Secure (the client then confirms with the client secret). A declined card
    leaves a `failed` deposit and raises `card_declined`. Repeating the call returns the active deposit; with the
    same `request_key` (the client's Idempotency-Key) it returns the first result, even a failed one."""
    if request_key:
        earlier = Deposit.objects.filter(user=user, request_key=request_key).first()
        if earlier is not None:
            if earlier.status == Deposit.Status.FAILED:
                raise PaymentError("card_declined", earlier.failure_message, http_status=402)
            return deposit_sync(deposit_id=earlier.pk)
    auction = auction_selectors.auction_get(auction_id=auction_id)
    _deposit_window_check(auction)
    eligibility = buyer_eligibility_check(user=user, auction=auction, amount=auction.deposit_amount)
    if not eligibility.ok:
        raise PaymentError(str(eligibility.code), eligibility.message, http_status=403)
    if defaulted_on_portfolio(user=user, portfolio_id=auction.portfolio_id):
        raise PaymentError(
            "defaulted_buyer",
            _("You won an earlier round of this portfolio and did not pay, so you cannot bid on it again."),
            http_status=403,
        )
    with transaction.atomic():
        deposit, _created = Deposit.objects.get_or_create(
            auction=auction,
            user=user,
            status__in=ACTIVE,
            defaults={
                "amount": auction.deposit_amount,
                "currency": auction.currency,
                "status": Deposit.Status.PENDING,
                "request_key": request_key,
            },
        )
    if deposit.payment_intent:
        return deposit_sync(deposit_id=deposit.pk)
    params: dict[str, Any] = {
        "amount": stripe_client.minor_units(deposit.amount, deposit.currency),
        "currency": deposit.currency.lower(),
        "capture_method": "manual",
        "metadata": {"kind": "deposit", "deposit": str(deposit.pk), "auction": str(auction.pk), "user": str(user.pk)},
    }
    if payment_method:
        params.update(payment_method=payment_method, confirm=True)
    api = stripe_client.client().v1.payment_intents
    try:
        intent = api.create(params=params, options={"idempotency_key": f"deposit-{deposit.pk}-hold"})  # type: ignore[arg-type]
    except stripe.CardError as exc:
        message = exc.user_message or _("The card was declined.")
        with transaction.atomic():
            locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
            _transition(locked, Deposit.Status.FAILED, failure_message=str(message)[:300])
        raise PaymentError("card_declined", str(message), http_status=402) from exc
    Deposit.objects.filter(pk=deposit.pk, payment_intent="").update(payment_intent=intent.id)
    return deposit_sync(deposit_id=deposit.pk, intent=intent)


def deposit_client_secret(*, deposit: Deposit) -> tuple[str | None, bool]:
    """The PaymentIntent's client secret and whether it awaits the buyer (3-D Secure), for a pending deposit."""
    if deposit.status != Deposit.Status.PENDING or not deposit.payment_intent:
        return None, False
    intent = stripe_client.client().v1.payment_intents.retrieve(deposit.payment_intent)
    return intent.client_secret, intent.status in (
        "requires_action",
        "requires_payment_method",
        "requires_confirmation",
    )


def _holds_settle(*, auction_id: int) -> None:
    """Make Stripe match our decisions: cancel every released hold (first: those buyers wait), capture the applied
    one. Each deposit is marked once Stripe agrees, so a retry skips it."""
    to_do = Deposit.objects.filter(
        auction_id=auction_id,
        status__in=(Deposit.Status.RELEASED, Deposit.Status.APPLIED),
        stripe_done_at__isnull=True,
    ).exclude(payment_intent="")
    deposits = sorted(to_do, key=lambda d: d.status == Deposit.Status.APPLIED)
    if not deposits:
        return  # nothing on Stripe (deposits recorded without a card hold need no key)
    api = stripe_client.client().v1.payment_intents
    for deposit in deposits:
        intent = api.retrieve(deposit.payment_intent)
        key = f"deposit-{deposit.pk}-{deposit.status}"
        if deposit.status == Deposit.Status.RELEASED and intent.status in CANCELLABLE:
            intent = api.cancel(deposit.payment_intent, options={"idempotency_key": key})
        elif deposit.status == Deposit.Status.APPLIED and intent.status == "requires_capture":
            intent = api.capture(deposit.payment_intent, options={"idempotency_key": key})
        expected = "canceled" if deposit.status == Deposit.Status.RELEASED else "succeeded"
        if intent.status != expected:
            log.error("deposit %s is %s but its PaymentIntent is %s", deposit.pk, deposit.status, intent.status)
            continue
        with transaction.atomic():
            Deposit.objects.filter(pk=deposit.pk).update(stripe_done_at=timezone.now())
            if deposit.status == Deposit.Status.RELEASED:
                ledger.hold_released(deposit=deposit)
            else:
                settlement = Settlement.objects.filter(auction_id=auction_id).first()
                ledger.deposit_captured(deposit=deposit, settlement=settlement)


def deposits_release(*, auction_id: int) -> int:
    """Release every pending or held deposit of an auction (after a cancellation) and cancel the holds; returns
    how many were released now."""
    with transaction.atomic():
        released = Deposit.objects.filter(auction_id=auction_id, status__in=ACTIVE).update(
            status=Deposit.Status.RELEASED, updated_at=timezone.now()
        )
    _holds_settle(auction_id=auction_id)
    return released


# --- Settlement -----------------------------------------------------------------------------------------------------


def settlement_open(*, auction_id: int) -> Settlement | None:
    """For a closed auction: apply the winner's held deposit, release the others, open the winner's settlement
    (hammer price, premium, commission, deposit applied, balance due by the deadline); then capture the winner's
    hold and cancel every other one. Idempotent: a second run finishes what the first left and changes nothing else.
    """
    result = auction_selectors.result(auction_id=auction_id)
    if result is None:
        return None
    settlement = None
    with transaction.atomic():
        deposits = list(Deposit.objects.select_for_update().filter(auction_id=auction_id, status__in=ACTIVE))
        applied = next((d for d in deposits if d.user_id == result.winner_id and d.status == Deposit.Status.HELD), None)
        for deposit in deposits:
            deposit.status = Deposit.Status.APPLIED if deposit is applied else Deposit.Status.RELEASED
        Deposit.objects.bulk_update(deposits, ["status", "updated_at"])
        if result.winner_id is not None and result.final_price is not None:
            credit = (
                Deposit.objects.filter(auction_id=auction_id, user_id=result.winner_id, status=Deposit.Status.APPLIED)
                .values_list("amount", flat=True)
                .first()
            ) or Decimal(0)
            hammer = result.final_price
            premium = quantize(hammer * settings.BUYER_PREMIUM_RATE)
            commission = quantize(hammer * settings.SELLER_COMMISSION_RATE)
            settlement, created = Settlement.objects.get_or_create(
                auction_id=auction_id,
                defaults={
                    "buyer_id": result.winner_id,
                    "currency": result.currency,
                    "hammer_price": hammer,
                    "buyer_premium": premium,
                    "seller_commission": commission,
                    "deposit_applied": credit,
                    "balance_due": hammer + premium - credit,
                    "payout_amount": hammer - commission,
                    "due_at": timezone.now() + timedelta(days=settings.SETTLEMENT_DUE_DAYS),
                },
            )
            if created:
                seller_id = auction_selectors.auction_get(auction_id=auction_id).portfolio.seller_id
                ledger.sale_posted(settlement=settlement, seller_id=seller_id)
    _holds_settle(auction_id=auction_id)
    return settlement


def settlement_pay(*, user: User, settlement_id: int, payment_method: str = "") -> Settlement:
    """Start (or resume) the winner's card payment of the balance; with `payment_method` it is confirmed here.
    Paid when the PaymentIntent succeeds (here, on the buyer's return, or by webhook)."""
    settlement = Settlement.objects.get(pk=settlement_id)
    if settlement.buyer_id != user.pk:
        raise PaymentError("not_found", _("No such settlement."), http_status=404)
    if settlement.status != Settlement.Status.AWAITING_PAYMENT:
        return settlement
    api = stripe_client.client().v1.payment_intents
    if settlement.payment_intent:
        intent = api.retrieve(settlement.payment_intent)
        if intent.status not in ("requires_payment_method", "canceled") or not payment_method:
            return settlement_sync(settlement_id=settlement.pk, intent=intent)
    params: dict[str, Any] = {
        "amount": stripe_client.minor_units(settlement.balance_due, settlement.currency),
        "currency": settlement.currency.lower(),
        "metadata": {"kind": "balance", "settlement": str(settlement.pk), "auction": str(settlement.auction_id)},
    }
    if payment_method:
        params.update(payment_method=payment_method, confirm=True)
    # One PaymentIntent per card tried: a declined card's attempt stays failed, another card is a new attempt.
    key = f"settlement-{settlement.pk}-balance-{payment_method or 'client'}"
    try:
        intent = api.create(params=params, options={"idempotency_key": key})  # type: ignore[arg-type]
    except stripe.CardError as exc:
        raise PaymentError(
            "card_declined", str(exc.user_message or _("The card was declined.")), http_status=402
        ) from exc
    Settlement.objects.filter(pk=settlement.pk, status=Settlement.Status.AWAITING_PAYMENT).update(
        payment_intent=intent.id
    )
    return settlement_sync(settlement_id=settlement.pk, intent=intent)


def settlement_sync(*, settlement_id: int, intent: stripe.PaymentIntent | None = None) -> Settlement:
    """Mark the settlement paid once its balance PaymentIntent has succeeded (any number of times, any order)."""
    settlement = Settlement.objects.get(pk=settlement_id)
    if not settlement.payment_intent or settlement.status != Settlement.Status.AWAITING_PAYMENT:
        return settlement
    if intent is None or intent.id != settlement.payment_intent:
        intent = stripe_client.client().v1.payment_intents.retrieve(settlement.payment_intent)
    received = intent.to_dict().get("amount_received")
    expected = stripe_client.minor_units(settlement.balance_due, settlement.currency)
    if intent.status == "succeeded" and received in (None, expected):  # localstripe omits amount_received
        return settlement_mark_paid(settlement_id=settlement.pk)
    return settlement


def settlement_mark_paid(*, settlement_id: int, bank_reference: str = "", actor: User | None = None) -> Settlement:
    """The balance is in (by card, or by bank transfer that staff confirm with its reference): the settlement is
    paid and the debtors' data released to the buyer, in one transaction; the seller's payout follows on commit."""
    from payments import tasks

    with transaction.atomic():
        settlement = (
            Settlement.objects.select_for_update(of=("self",))
            .select_related("auction__portfolio", "buyer")
            .get(pk=settlement_id)
        )
        if settlement.status in (Settlement.Status.PAID, Settlement.Status.PAID_OUT):
            return settlement
        if settlement.status != Settlement.Status.AWAITING_PAYMENT:
            raise PaymentError("settlement_defaulted", _("This settlement has defaulted; it cannot be paid."))
        if actor is not None and not bank_reference.strip():
            raise PaymentError("bank_reference_required", _("Give the bank transfer's reference."), http_status=400)
        settlement.status, settlement.paid_at = Settlement.Status.PAID, timezone.now()
        settlement.bank_reference = bank_reference.strip()
        settlement.save()
        ledger.payment_received(settlement=settlement)
        portfolio_release_to_buyer(portfolio=settlement.auction.portfolio, buyer=settlement.buyer)
        tasks.settlement_payout.delay_on_commit(settlement.pk)  # type: ignore[attr-defined]  # celery-types lags
    if actor is not None:
        log.info("settlement %s marked paid by %s against %s", settlement.pk, actor.pk, settlement.bank_reference)
    return settlement


def settlement_payout(*, settlement_id: int) -> Settlement:
    """Pay the seller (hammer price less commission) by Stripe Connect transfer when their organization has a
    connected account; otherwise staff confirm a bank transfer (`settlement_payout_confirm`). Idempotent."""
    settlement = Settlement.objects.select_related("auction__portfolio").get(pk=settlement_id)
    if settlement.status != Settlement.Status.PAID:
        return settlement
    account = PayoutAccount.objects.filter(organization_id=settlement.auction.portfolio.seller_id).first()
    if account is None:
        return settlement
    transfer = stripe_client.client().v1.transfers.create(
        params={
            "amount": stripe_client.minor_units(settlement.payout_amount, settlement.currency),
            "currency": settlement.currency.lower(),
            "destination": account.stripe_account,
            "transfer_group": f"settlement-{settlement.pk}",
            "metadata": {"settlement": str(settlement.pk), "auction": str(settlement.auction_id)},
        },
        options={"idempotency_key": f"settlement-{settlement.pk}-payout"},
    )
    return _paid_out(settlement_id=settlement.pk, payout_transfer=transfer.id)


def settlement_payout_confirm(*, settlement_id: int, reference: str, actor: User) -> Settlement:
    """Staff confirm they sent the seller's payout by bank transfer, with its reference."""
    if not reference.strip():
        raise PaymentError("bank_reference_required", _("Give the bank transfer's reference."), http_status=400)
    log.info("settlement %s payout confirmed by %s", settlement_id, actor.pk)
    return _paid_out(settlement_id=settlement_id, payout_reference=reference.strip())


def _paid_out(*, settlement_id: int, **fields: str) -> Settlement:
    with transaction.atomic():
        settlement = (
            Settlement.objects.select_for_update(of=("self",))
            .select_related("auction__portfolio")
            .get(pk=settlement_id)
        )
        if settlement.status == Settlement.Status.PAID_OUT:
            return settlement
        if settlement.status != Settlement.Status.PAID:
            raise PaymentError("not_paid", _("The buyer has not paid yet."))
        settlement.status, settlement.paid_out_at = Settlement.Status.PAID_OUT, timezone.now()
        for name, value in fields.items():
            setattr(settlement, name, value)
        settlement.save()
        ledger.payout_sent(settlement=settlement, seller_id=settlement.auction.portfolio.seller_id)
    return settlement


# --- Default --------------------------------------------------------------------------------------------------------


def settlement_default(*, settlement_id: int) -> Settlement:
    """The balance is unpaid at the deadline: the settlement defaults, the winner's captured deposit is forfeited
    (split between the seller and the platform by FORFEIT_SELLER_SHARE) and the winner may not post a deposit on
    that portfolio again. Idempotent; refuses before the deadline."""
    with transaction.atomic():
        settlement = (
            Settlement.objects.select_for_update(of=("self",))
            .select_related("auction__portfolio")
            .get(pk=settlement_id)
        )
        if settlement.status == Settlement.Status.DEFAULTED:
            return settlement
        if settlement.status != Settlement.Status.AWAITING_PAYMENT:
            raise PaymentError("already_paid", _("This settlement is paid; it cannot default."))
        if timezone.now() < settlement.due_at:
            raise PaymentError("not_due", _("The payment deadline has not passed."))
        settlement.status = Settlement.Status.DEFAULTED
        settlement.save()
        for deposit in Deposit.objects.select_for_update().filter(
            auction_id=settlement.auction_id, user_id=settlement.buyer_id, status=Deposit.Status.APPLIED
        ):
            _transition(deposit, Deposit.Status.FORFEITED)
        ledger.forfeiture_posted(
            settlement=settlement,
            seller_id=settlement.auction.portfolio.seller_id,
            seller_share=settings.FORFEIT_SELLER_SHARE,
        )
    return settlement


def settlements_default_due() -> int:
    """Default every settlement past its deadline (beat runs this every minute); returns how many."""
    due = Settlement.objects.filter(status=Settlement.Status.AWAITING_PAYMENT, due_at__lte=timezone.now())
    count = 0
    for settlement_id in due.values_list("pk", flat=True):
        settlement_default(settlement_id=settlement_id)
        count += 1
    return count


def defaulted_on_portfolio(*, user: User, portfolio_id: int) -> bool:
    """Whether the buyer won an earlier round of this portfolio and did not pay (they are barred from it)."""
    return Settlement.objects.filter(
        buyer=user, status=Settlement.Status.DEFAULTED, auction__portfolio_id=portfolio_id
    ).exists()
