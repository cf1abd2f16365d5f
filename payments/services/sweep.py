"""The payments sweep: finish hand-offs that were lost (the broker down when an auction closed or was cancelled, a
task out of retries). Beat runs it every minute; every step it calls is idempotent."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from auctions.models import Auction
from payments.models import Deposit, PayoutAccount, Settlement
from payments.services.deposits import ACTIVE, deposits_release, holds_settle
from payments.services.settlement import settlement_forfeit_payout, settlement_open, settlement_payout

log = logging.getLogger(__name__)

# The close's own task normally finishes within this; the sweep only picks up what it left.
HANDOFF_GRACE = timedelta(seconds=30)
BATCH = 200


@dataclass
class SweepResult:
    closings_finished: int = 0
    cancellations_released: int = 0
    holds_retried: int = 0
    payouts_retried: int = 0
    failures: int = 0


def payments_sweep() -> SweepResult:
    """Open the settlement (and release the losers' holds) of every auction closed over HANDOFF_GRACE ago that still
    has an active deposit or is sold without a settlement; release the deposits of cancelled auctions; bring Stripe
    in line with deposits decided but not matched; pay out what is owed to sellers with a connected account."""
    done = SweepResult()
    cutoff = timezone.now() - HANDOFF_GRACE
    active = Deposit.objects.filter(auction=OuterRef("pk"), status__in=ACTIVE)
    settled = Settlement.objects.filter(auction=OuterRef("pk"))
    closed = (
        Auction.objects.filter(status=Auction.Status.CLOSED, closed_at__lte=cutoff)
        .annotate(has_active=Exists(active), has_settlement=Exists(settled))
        .filter(Q(has_active=True) | Q(result=Auction.Result.SOLD, has_settlement=False))
    )
    for auction_id in closed.values_list("pk", flat=True).order_by("pk")[:BATCH]:
        if _safely(done, settlement_open, auction_id=auction_id):
            done.closings_finished += 1
    cancelled = Auction.objects.filter(status=Auction.Status.CANCELLED, closed_at__lte=cutoff).filter(Exists(active))
    for auction_id in cancelled.values_list("pk", flat=True).order_by("pk")[:BATCH]:
        if _safely(done, deposits_release, auction_id=auction_id):
            done.cancellations_released += 1
    unmatched = (
        Deposit.objects.filter(
            status__in=(Deposit.Status.RELEASED, Deposit.Status.APPLIED),
            stripe_done_at__isnull=True,
            updated_at__lte=cutoff,
        )
        .exclude(payment_intent="")
        .values_list("auction_id", flat=True)
        .distinct()
    )
    for auction_id in list(unmatched)[:BATCH]:
        if _safely(done, holds_settle, auction_id=auction_id):
            done.holds_retried += 1
    connected = PayoutAccount.objects.filter(organization=OuterRef("auction__portfolio__seller"))
    owed = Settlement.objects.filter(Exists(connected)).filter(
        Q(status=Settlement.Status.PAID, paid_at__lte=cutoff)
        | Q(status=Settlement.Status.DEFAULTED, forfeit_seller_amount__gt=0, forfeit_paid_out_at__isnull=True)
    )
    for settlement in owed.order_by("pk")[:BATCH]:
        pay = settlement_payout if settlement.status == Settlement.Status.PAID else settlement_forfeit_payout
        if _safely(done, pay, settlement_id=settlement.pk):
            done.payouts_retried += 1
    return done


def _safely(done: SweepResult, step: Callable[..., object], **ids: int) -> bool:
    """One item's step; a failure is logged and counted, and the sweep goes on with the others (next minute: again)."""
    try:
        step(**ids)
    except Exception:  # Stripe down, a lapsed hold, a bug: never let one item stop the rest
        log.exception("payments sweep: %s%s failed", getattr(step, "__name__", step), ids)
        done.failures += 1
        return False
    return True
