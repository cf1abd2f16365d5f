"""Reconciliation: compare our deposits, settlements and ledger with Stripe's objects; flag every difference for
staff, who resolve each with a note."""

from collections.abc import Iterator
from datetime import timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from payments import stripe_client
from payments.errors import PaymentError
from payments.models import Deposit, LedgerEntry, ReconciliationIssue, Settlement

# What Stripe must say about a deposit's PaymentIntent, by our status (once Stripe confirmed our last step).
EXPECTED_DEPOSIT_INTENT: dict[str, str] = {
    Deposit.Status.HELD: "requires_capture",
    Deposit.Status.RELEASED: "canceled",
    Deposit.Status.APPLIED: "succeeded",
    Deposit.Status.FORFEITED: "succeeded",
}


def _differences() -> Iterator[tuple[str, str]]:
    api = stripe_client.client().v1.payment_intents
    stale = timezone.now() - timedelta(hours=1)
    deposits = Deposit.objects.exclude(payment_intent="").filter(status__in=EXPECTED_DEPOSIT_INTENT)
    for deposit in deposits:
        if deposit.status != Deposit.Status.HELD and deposit.stripe_done_at is None:
            if deposit.updated_at < stale:
                yield f"deposit:{deposit.pk}", f"{deposit.status} here for over an hour, Stripe not yet matched"
            continue  # else the settlement task has not finished this one yet
        intent = api.retrieve(deposit.payment_intent)
        expected = EXPECTED_DEPOSIT_INTENT[deposit.status]
        if intent.status != expected:
            yield f"deposit:{deposit.pk}", f"{deposit.status} here, PaymentIntent {intent.status} (expected {expected})"
        if intent.amount != stripe_client.minor_units(deposit.amount, deposit.currency):
            yield f"deposit:{deposit.pk}", f"amount {deposit.amount} here, {intent.amount} minor units at Stripe"
    paid = (Settlement.Status.PAID, Settlement.Status.PAID_OUT)
    for settlement in Settlement.objects.exclude(payment_intent="").filter(status__in=paid, bank_reference=""):
        intent = api.retrieve(settlement.payment_intent)
        if intent.status != "succeeded":
            yield f"settlement:{settlement.pk}", f"paid here, balance PaymentIntent {intent.status}"
        if intent.amount != stripe_client.minor_units(settlement.balance_due, settlement.currency):
            yield f"settlement:{settlement.pk}", f"balance {settlement.balance_due} here, {intent.amount} at Stripe"
    unbalanced = LedgerEntry.objects.values("transaction").annotate(total=Sum("amount")).exclude(total=0)
    for row in unbalanced:
        yield f"ledger:{row['transaction']}", f"legs sum to {row['total']}"


def ledger_reconcile() -> int:
    """Record each difference once (while unresolved); returns how many differences were found this run."""
    found = 0
    for subject, message in _differences():
        found += 1
        ReconciliationIssue.objects.get_or_create(subject=subject, message=message[:300], resolved_at=None)
    return found


def reconciliation_issue_resolve(*, issue_id: int, actor: User, note: str) -> ReconciliationIssue:
    """Staff close a difference with what they found or did (who and when are kept). Resolving again keeps the first
    resolution; the same difference found again later opens a new issue."""
    if not note.strip():
        raise PaymentError("note_required", _("Say how the difference was resolved."), http_status=400)
    with transaction.atomic():
        issue = ReconciliationIssue.objects.select_for_update().get(pk=issue_id)
        if issue.resolved_at is None:
            issue.resolved_at, issue.resolved_by, issue.resolution = timezone.now(), actor, note.strip()
            issue.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return issue
