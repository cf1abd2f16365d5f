"""Staff refunds: a captured balance payment or a captured deposit given back in full on Stripe, once, with a reason.

Our row comes first (its id keys the Stripe refund), Stripe follows, and the ledger records it once Stripe agreed,
so a repeated or retried request never refunds twice.
"""

import logging
from typing import cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from payments import ledger, stripe_client
from payments.errors import PaymentError
from payments.models import Deposit, Refund, Settlement

log = logging.getLogger(__name__)

CAPTURED_DEPOSIT = (Deposit.Status.APPLIED, Deposit.Status.FORFEITED)


def payment_refund(
    *, actor: User, reason: str, settlement_id: int | None = None, deposit_id: int | None = None
) -> Refund:
    """Refund a settlement's card payment (`settlement_id`) or a captured deposit (`deposit_id`) in full. Asking
    again for the same payment returns the first refund (finishing it if Stripe had not answered)."""
    if (settlement_id is None) == (deposit_id is None):
        raise ValueError("refund one settlement or one deposit")
    if not reason.strip():
        raise PaymentError("reason_required", _("Say why the money is given back."), http_status=400)
    with transaction.atomic():
        if settlement_id is not None:
            refund = _settlement_refund_row(actor=actor, reason=reason.strip(), settlement_id=settlement_id)
        else:
            refund = _deposit_refund_row(actor=actor, reason=reason.strip(), deposit_id=cast(int, deposit_id))
    if refund.refunded_at is not None:
        return refund
    stripe_refund = stripe_client.client().v1.refunds.create(
        params={
            "payment_intent": refund.payment_intent,
            "amount": stripe_client.minor_units(refund.amount, refund.currency),
            "metadata": {"refund": str(refund.pk)},
        },
        options={"idempotency_key": f"refund-{refund.pk}"},
    )
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.refunded_at is None:
            refund.stripe_refund, refund.refunded_at = stripe_refund.id, timezone.now()
            refund.save(update_fields=["stripe_refund", "refunded_at"])
            ledger.refund_posted(refund=refund)
    log.info("refund %s of %s %s by %s: %s", refund.pk, refund.amount, refund.currency, actor.pk, refund.reason)
    return refund


def _settlement_refund_row(*, actor: User, reason: str, settlement_id: int) -> Refund:
    """The refund's row, created once per settlement under the settlement's row lock."""
    settlement = Settlement.objects.select_for_update().get(pk=settlement_id)
    existing = Refund.objects.filter(settlement=settlement).first()
    if existing is not None:
        return existing
    paid_by_card = settlement.payment_intent and not settlement.bank_reference
    if settlement.status not in (Settlement.Status.PAID, Settlement.Status.PAID_OUT) or not paid_by_card:
        raise PaymentError("not_refundable", _("Only a balance paid by card can be refunded here."))
    return Refund.objects.create(
        settlement=settlement,
        buyer_id=settlement.buyer_id,
        amount=settlement.balance_due,
        currency=settlement.currency,
        payment_intent=settlement.payment_intent,
        reason=reason,
        actor=actor,
    )


def _deposit_refund_row(*, actor: User, reason: str, deposit_id: int) -> Refund:
    """The refund's row, created once per deposit under the deposit's row lock."""
    deposit = Deposit.objects.select_for_update().get(pk=deposit_id)
    existing = Refund.objects.filter(deposit=deposit).first()
    if existing is not None:
        return existing
    if deposit.status not in CAPTURED_DEPOSIT or deposit.stripe_done_at is None or not deposit.payment_intent:
        raise PaymentError("not_refundable", _("Only a deposit captured on Stripe can be refunded."))
    return Refund.objects.create(
        deposit=deposit,
        buyer_id=deposit.user_id,
        amount=deposit.amount,
        currency=deposit.currency,
        payment_intent=deposit.payment_intent,
        reason=reason,
        actor=actor,
    )
