"""Money after an auction: the winner's deposit applied, every other hold released, the settlement opened.

These record the outcome; moving the money through Stripe (capture, cancel, the balance payment) builds on them.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auctions import selectors as auction_selectors
from payments.models import Deposit, Settlement

ACTIVE = (Deposit.Status.PENDING, Deposit.Status.HELD)


def settlement_open(*, auction_id: int) -> Settlement | None:
    """For a closed auction: apply the winner's held deposit, release the others, open the winner's settlement
    (hammer price, deposit applied, balance due by the deadline). Idempotent: a second run changes nothing."""
    result = auction_selectors.result(auction_id=auction_id)
    if result is None:
        return None
    with transaction.atomic():
        deposits = list(Deposit.objects.select_for_update().filter(auction_id=auction_id, status__in=ACTIVE))
        applied = next((d for d in deposits if d.user_id == result.winner_id and d.status == Deposit.Status.HELD), None)
        for deposit in deposits:
            deposit.status = Deposit.Status.APPLIED if deposit is applied else Deposit.Status.RELEASED
        Deposit.objects.bulk_update(deposits, ["status", "updated_at"])
        if result.winner_id is None or result.final_price is None:
            return None
        credit = (
            applied.amount
            if applied is not None
            else Deposit.objects.filter(auction_id=auction_id, user_id=result.winner_id, status=Deposit.Status.APPLIED)
            .values_list("amount", flat=True)
            .first()
            or 0
        )
        settlement, _ = Settlement.objects.get_or_create(
            auction_id=auction_id,
            defaults={
                "buyer_id": result.winner_id,
                "currency": result.currency,
                "hammer_price": result.final_price,
                "balance_due": result.final_price - credit,
                "due_at": timezone.now() + timedelta(days=settings.SETTLEMENT_DUE_DAYS),
            },
        )
    return settlement


def deposits_release(*, auction_id: int) -> int:
    """Release every pending or held deposit of an auction (after a cancellation); returns how many."""
    with transaction.atomic():
        return Deposit.objects.filter(auction_id=auction_id, status__in=ACTIVE).update(
            status=Deposit.Status.RELEASED, updated_at=timezone.now()
        )
