"""Settlement: opened on close, paid by card or bank transfer, paid out to the seller, or defaulted.

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
from django.utils.translation import gettext as _

from accounts.models import User
from auctions import selectors as auction_selectors
from auctions import services as auction_services
from payments import ledger, stripe_client
from payments.errors import PaymentError
from payments.models import Deposit, PayoutAccount, Settlement
from payments.services.deposits import ACTIVE, holds_settle, transition
from portfolios.services.debtor_data import portfolio_release_to_buyer

log = logging.getLogger(__name__)


def _locked(settlement_id: int) -> Settlement:
    """The settlement under its row lock (inside the caller's transaction), with its auction, portfolio and buyer."""
    return (
        Settlement.objects.select_for_update(of=("self",))
        .select_related("auction__portfolio", "buyer")
        .get(pk=settlement_id)
    )


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
            settlement, created = Settlement.objects.get_or_create(
                auction_id=auction_id,
                defaults=settlement_terms(
                    buyer_id=result.winner_id, hammer=result.final_price, currency=result.currency, deposit=credit
                ),
            )
            if created:
                seller_id = auction_selectors.auction_get(auction_id=auction_id).portfolio.seller_id
                ledger.sale_posted(settlement=settlement, seller_id=seller_id)
    holds_settle(auction_id=auction_id)
    return settlement


def settlement_terms(*, buyer_id: int, hammer: Decimal, currency: str, deposit: Decimal) -> dict[str, Any]:
    """A new settlement's figures: premium and commission on the hammer price, the deposit applied, the balance due
    within SETTLEMENT_DUE_DAYS from now."""
    premium = stripe_client.round_to_currency(hammer * settings.BUYER_PREMIUM_RATE, currency)
    commission = stripe_client.round_to_currency(hammer * settings.SELLER_COMMISSION_RATE, currency)
    return {
        "buyer_id": buyer_id,
        "currency": currency,
        "hammer_price": hammer,
        "buyer_premium": premium,
        "seller_commission": commission,
        "deposit_applied": deposit,
        "balance_due": hammer + premium - deposit,
        "payout_amount": hammer - commission,
        "due_at": timezone.now() + timedelta(days=settings.SETTLEMENT_DUE_DAYS),
    }


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
    open_or_lost = (Settlement.Status.AWAITING_PAYMENT, Settlement.Status.DEFAULTED)
    if not settlement.payment_intent or settlement.status not in open_or_lost:
        return settlement
    if intent is None or intent.id != settlement.payment_intent:
        intent = stripe_client.client().v1.payment_intents.retrieve(settlement.payment_intent)
    if intent.status != "succeeded":
        return settlement
    if settlement.status == Settlement.Status.DEFAULTED:
        if settlement.refunded_at is None:
            # The card payment completed after the deadline passed (3-D Secure finished late): give the money back.
            stripe_client.client().v1.refunds.create(
                params={"payment_intent": intent.id},
                options={"idempotency_key": f"settlement-{settlement.pk}-late-refund"},
            )
            Settlement.objects.filter(pk=settlement.pk).update(refunded_at=timezone.now())
            log.warning("settlement %s: balance paid after the default, refunded", settlement.pk)
        return settlement
    received = intent.to_dict().get("amount_received")
    expected = stripe_client.minor_units(settlement.balance_due, settlement.currency)
    if received in (None, expected):  # localstripe omits amount_received
        return settlement_mark_paid(settlement_id=settlement.pk)
    return settlement


def settlement_mark_paid(*, settlement_id: int, bank_reference: str = "", actor: User | None = None) -> Settlement:
    """The balance is in (by card, or by bank transfer that staff confirm with its reference): the settlement is
    paid and the debtors' data released to the buyer, in one transaction; the seller's payout follows on commit."""
    from payments import tasks

    with transaction.atomic():
        settlement = _locked(settlement_id)
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
        auction_services.auction_settlement_recorded(auction_id=settlement.auction_id, paid=True)
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
    transfer = _seller_transfer(settlement=settlement, account=account, amount=settlement.payout_amount, kind="payout")
    return _paid_out(settlement_id=settlement.pk, payout_transfer=transfer)


def _seller_transfer(*, settlement: Settlement, account: PayoutAccount, amount: Decimal, kind: str) -> str:
    """One Connect transfer to the seller's account; the idempotency key (settlement and kind: `payout` or
    `forfeit-payout`) makes a retry return the first transfer. Returns its id."""
    transfer = stripe_client.client().v1.transfers.create(
        params={
            "amount": stripe_client.minor_units(amount, settlement.currency),
            "currency": settlement.currency.lower(),
            "destination": account.stripe_account,
            "transfer_group": f"settlement-{settlement.pk}",
            "metadata": {"settlement": str(settlement.pk), "auction": str(settlement.auction_id), "kind": kind},
        },
        options={"idempotency_key": f"settlement-{settlement.pk}-{kind}"},
    )
    return transfer.id


def settlement_payout_confirm(*, settlement_id: int, reference: str, actor: User) -> Settlement:
    """Staff confirm they sent the seller's payout by bank transfer, with its reference."""
    if not reference.strip():
        raise PaymentError("bank_reference_required", _("Give the bank transfer's reference."), http_status=400)
    log.info("settlement %s payout confirmed by %s", settlement_id, actor.pk)
    return _paid_out(settlement_id=settlement_id, payout_reference=reference.strip())


def _paid_out(*, settlement_id: int, **fields: str) -> Settlement:
    with transaction.atomic():
        settlement = _locked(settlement_id)
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


def settlement_default(*, settlement_id: int) -> Settlement:
    """The balance is unpaid at the deadline: the settlement defaults, the winner's captured deposit is forfeited
    (split between the seller and the platform by FORFEIT_SELLER_SHARE; the seller's share is paid out on commit)
    and the winner may not post a deposit on that portfolio again. Then the runner-up is offered the lot, or, when
    there is none or this was the runner-up's own settlement, the lot goes back to the seller. Idempotent; refuses
    before the deadline."""
    from payments import tasks
    from payments.services import offers

    with transaction.atomic():
        settlement = _locked(settlement_id)
        if settlement.status == Settlement.Status.DEFAULTED:
            return settlement
        if settlement.status != Settlement.Status.AWAITING_PAYMENT:
            raise PaymentError("already_paid", _("This settlement is paid; it cannot default."))
        if timezone.now() < settlement.due_at:
            raise PaymentError("not_due", _("The payment deadline has not passed."))
        settlement.status = Settlement.Status.DEFAULTED
        settlement.save()
        auction_services.auction_settlement_recorded(auction_id=settlement.auction_id, paid=False)
        for deposit in Deposit.objects.select_for_update().filter(
            auction_id=settlement.auction_id, user_id=settlement.buyer_id, status=Deposit.Status.APPLIED
        ):
            transition(deposit, Deposit.Status.FORFEITED)
        ledger.forfeiture_posted(
            settlement=settlement,
            seller_id=settlement.auction.portfolio.seller_id,
            seller_share=settings.FORFEIT_SELLER_SHARE,
        )
        settlement.forfeit_seller_amount = ledger.forfeiture_split(
            settlement=settlement, seller_share=settings.FORFEIT_SELLER_SHARE
        )
        settlement.save(update_fields=["forfeit_seller_amount"])
        if settlement.forfeit_seller_amount:
            tasks.settlement_forfeit_payout.delay_on_commit(settlement.pk)  # type: ignore[attr-defined]
        offers.offer_after_default(settlement=settlement)
    return settlement


def settlement_forfeit_payout(*, settlement_id: int) -> Settlement:
    """Pay the seller their share of a defaulter's forfeited deposit, like a sale's payout: by one Connect transfer
    when their organization has a connected account, else staff confirm a bank transfer. Idempotent."""
    settlement = Settlement.objects.select_related("auction__portfolio").get(pk=settlement_id)
    if not _forfeit_payout_owed(settlement):
        return settlement
    account = PayoutAccount.objects.filter(organization_id=settlement.auction.portfolio.seller_id).first()
    if account is None:
        return settlement
    amount = settlement.forfeit_seller_amount
    transfer = _seller_transfer(settlement=settlement, account=account, amount=amount, kind="forfeit-payout")
    return _forfeit_paid_out(settlement_id=settlement.pk, forfeit_payout_transfer=transfer)


def settlement_forfeit_payout_confirm(*, settlement_id: int, reference: str, actor: User) -> Settlement:
    """Staff confirm they sent the seller's share of a forfeited deposit by bank transfer, with its reference."""
    if not reference.strip():
        raise PaymentError("bank_reference_required", _("Give the bank transfer's reference."), http_status=400)
    log.info("settlement %s forfeiture payout confirmed by %s", settlement_id, actor.pk)
    return _forfeit_paid_out(settlement_id=settlement_id, forfeit_payout_reference=reference.strip())


def _forfeit_payout_owed(settlement: Settlement) -> bool:
    return (
        settlement.status == Settlement.Status.DEFAULTED
        and settlement.forfeit_seller_amount > 0
        and settlement.forfeit_paid_out_at is None
    )


def _forfeit_paid_out(*, settlement_id: int, **fields: str) -> Settlement:
    with transaction.atomic():
        settlement = _locked(settlement_id)
        if settlement.forfeit_paid_out_at is not None:
            return settlement
        if not _forfeit_payout_owed(settlement):
            raise PaymentError("nothing_owed", _("No forfeited deposit is owed to the seller here."))
        settlement.forfeit_paid_out_at = timezone.now()
        for name, value in fields.items():
            setattr(settlement, name, value)
        settlement.save()
        ledger.forfeiture_paid_out(settlement=settlement, seller_id=settlement.auction.portfolio.seller_id)
    return settlement


def settlements_default_due() -> int:
    """Default every settlement past its deadline (beat runs this every minute); returns how many."""
    due = Settlement.objects.filter(status=Settlement.Status.AWAITING_PAYMENT, due_at__lte=timezone.now())
    count = 0
    for settlement_id in due.values_list("pk", flat=True):
        settlement_default(settlement_id=settlement_id)
        count += 1
    return count
