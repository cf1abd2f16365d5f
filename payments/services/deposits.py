"""Deposits: card holds (PaymentIntents with manual capture) kept in line with Stripe, released or captured once."""

from datetime import timedelta
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
from payments import ledger, stripe_client
from payments.errors import PaymentError
from payments.models import Deposit, Settlement
from payments.selectors import defaulted_on_portfolio

ACTIVE = (Deposit.Status.PENDING, Deposit.Status.HELD)
CANCELLABLE = ("requires_payment_method", "requires_confirmation", "requires_action", "requires_capture")


def transition(deposit: Deposit, to: str, **fields: Any) -> bool:
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
            if transition(deposit, to, **fields) and to == Deposit.Status.HELD:
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
            opens_at=auction_selectors.iso(opens_at),
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
            transition(locked, Deposit.Status.FAILED, failure_message=str(message)[:300])
        raise PaymentError("card_declined", str(message), http_status=402) from exc
    Deposit.objects.filter(pk=deposit.pk, payment_intent="").update(payment_intent=intent.id)
    deposit = deposit_sync(deposit_id=deposit.pk, intent=intent)
    if deposit.status == Deposit.Status.RELEASED:
        # The auction ended while Stripe was authorizing: the close released the deposit before the hold existed.
        holds_settle(auction_id=auction.pk)
    return deposit


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


class HoldMismatchError(RuntimeError):
    """Stripe could not be brought to our decision for some holds (reconciliation flags them if it lasts)."""


def holds_settle(*, auction_id: int) -> None:
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
    mismatched = []
    for deposit in deposits:
        intent = api.retrieve(deposit.payment_intent)
        key = f"deposit-{deposit.pk}-{deposit.status}"
        if deposit.status == Deposit.Status.RELEASED and intent.status in CANCELLABLE:
            intent = api.cancel(deposit.payment_intent, options={"idempotency_key": key})
        elif deposit.status == Deposit.Status.APPLIED and intent.status == "requires_capture":
            intent = api.capture(deposit.payment_intent, options={"idempotency_key": key})
        expected = "canceled" if deposit.status == Deposit.Status.RELEASED else "succeeded"
        if intent.status != expected:  # e.g. a hold that lapsed: the others go on, then the task retries
            mismatched.append(f"deposit {deposit.pk} is {deposit.status} but its PaymentIntent is {intent.status}")
            continue
        with transaction.atomic():
            Deposit.objects.filter(pk=deposit.pk).update(stripe_done_at=timezone.now())
            if deposit.status == Deposit.Status.RELEASED:
                ledger.hold_released(deposit=deposit)
            else:
                settlement = (
                    Settlement.objects.filter(auction_id=auction_id, buyer_id=deposit.user_id).order_by("pk").first()
                )
                ledger.deposit_captured(deposit=deposit, settlement=settlement)
    if mismatched:
        raise HoldMismatchError("; ".join(mismatched))


def deposits_release(*, auction_id: int) -> int:
    """Release every pending or held deposit of an auction (after a cancellation) and cancel the holds; returns
    how many were released now."""
    with transaction.atomic():
        released = Deposit.objects.filter(auction_id=auction_id, status__in=ACTIVE).update(
            status=Deposit.Status.RELEASED, updated_at=timezone.now()
        )
    holds_settle(auction_id=auction_id)
    return released
