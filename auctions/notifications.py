"""Services for the watchlist and notifications: outbid, ending soon, won and lost, kept on the user's list and
e-mailed from a worker (never on the bid path: a bid only queues the outbid buyer's notice, see `outbid_queue`)."""

import json
import logging
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import User
from auctions import broadcast
from auctions.models import Auction, Notification, Participant, Watch

log = logging.getLogger(__name__)

OUTBID_EMAIL_GAP = timedelta(minutes=15)  # at most one outbid e-mail per auction in this time
RESULTS_GRACE = timedelta(seconds=30)  # the close's own task normally tells everyone within this
RESULTS_LOOKBACK = timedelta(days=1)
ENDED = (Auction.Status.CLOSED, Auction.Status.SETTLED, Auction.Status.DEFAULTED)


def watch_set(*, user: User, auction: Auction, notify_ending_soon: bool = True) -> Watch:
    watch, _created = Watch.objects.update_or_create(
        user=user, auction=auction, defaults={"notify_ending_soon": notify_ending_soon}
    )
    return watch


def watch_remove(*, user: User, auction: Auction) -> None:
    Watch.objects.filter(user=user, auction=auction).delete()


def _notify(*, user: User, auction: Auction, kind: str, message: str, email: bool = True) -> Notification:
    notification = Notification.objects.create(user=user, auction=auction, kind=kind, message=message)
    if email:
        account_services.email_queue(
            to=user.email,
            subject=message,
            template="auctions/email/notification.txt",
            context={"user": user, "auction": auction, "message": message, "site": settings.SITE_URL},
        )
    return notification


def notify_outbid(*, user_id: int, auction_id: int, current_price: str) -> Notification:
    """Someone outbid the user: always on their list, by e-mail at most once per auction every 15 minutes."""
    user, auction = User.objects.get(pk=user_id), Auction.objects.select_related("portfolio").get(pk=auction_id)
    recent = Notification.objects.filter(
        user=user, auction=auction, kind=Notification.Kind.OUTBID, created_at__gte=timezone.now() - OUTBID_EMAIL_GAP
    ).exists()
    message = _("You were outbid on %(title)s: the price is now %(price)s %(currency)s.") % {
        "title": auction.portfolio.title,
        "price": current_price,
        "currency": auction.currency,
    }
    return _notify(user=user, auction=auction, kind=Notification.Kind.OUTBID, message=message, email=not recent)


def outbid_queue() -> str:
    """The Redis list of outbid notices waiting for a worker. A bid appends to it in the round trip that broadcasts
    its events (after commit): a Celery message per outbid cost each accepted bid about 2 ms of its CPU."""
    return f"{broadcast.namespace()}:outbid-queue"


def outbid_notice(*, user_id: int, auction_id: int, current_price: str) -> tuple[str, dict[str, Any]]:
    """The queue item that makes `outbid_queue_drain` tell the user they were outbid at `current_price`."""
    return outbid_queue(), {"user": user_id, "auction": auction_id, "current_price": current_price}


def outbid_queue_drain(*, limit: int = 5_000) -> int:
    """List (and e-mail, see `notify_outbid`) the queued outbid notices, oldest first, at most `limit` per run; the
    beat runs this every few seconds. Each item is popped by one worker only; one whose auction or user is gone is
    dropped; if listing fails (the database is down), this one and the rest go back to the head of the queue.
    Returns how many were listed."""
    client, done, popped = broadcast.redis_client(), 0, 0
    while popped < limit and (items := client.lpop(outbid_queue(), min(500, limit - popped))):
        popped += len(items)
        batch = cast(list[bytes], items)
        for index, raw in enumerate(batch):
            item = json.loads(raw)
            try:
                notify_outbid(user_id=item["user"], auction_id=item["auction"], current_price=item["current_price"])
            except (User.DoesNotExist, Auction.DoesNotExist):
                log.info("outbid notice %s dropped: its auction or user is gone", item)
                continue
            except Exception:
                client.lpush(outbid_queue(), *reversed(batch[index:]))  # back at the head, in order, for the next run
                raise
            done += 1
    return done


def notify_results(*, auction_id: int) -> int:
    """After a close: the winner is told they won, every other bidder that they lost. Idempotent."""
    auction = Auction.objects.select_related("portfolio").get(pk=auction_id)
    if auction.status not in ENDED:
        return 0
    told = set(
        Notification.objects.filter(
            auction=auction, kind__in=[Notification.Kind.WON, Notification.Kind.LOST]
        ).values_list("user_id", flat=True)
    )
    sent = 0
    with transaction.atomic():
        for seat in Participant.objects.filter(auction=auction).select_related("user"):
            if seat.user_id in told:
                continue
            won = auction.result == Auction.Result.SOLD and seat.user_id == auction.leader_id
            message = (
                _("You won %(title)s at %(price)s %(currency)s. Pay the balance within the deadline.")
                if won
                else _("%(title)s has closed; your bid did not win.")
            ) % {"title": auction.portfolio.title, "price": auction.final_price, "currency": auction.currency}
            kind = Notification.Kind.WON if won else Notification.Kind.LOST
            _notify(user=seat.user, auction=auction, kind=kind, message=message)
            sent += 1
    return sent


def notify_ending_soon(*, within: timedelta | None = None) -> int:
    """Tell watchers who asked that an auction closes within `within` (settings.AUCTION_ENDING_SOON_MINUTES)."""
    now = timezone.now()
    within = within or timedelta(minutes=settings.AUCTION_ENDING_SOON_MINUTES)
    due = Watch.objects.filter(
        notify_ending_soon=True,
        ending_soon_sent_at__isnull=True,
        auction__status=Auction.Status.LIVE,
        auction__closes_at__lte=now + within,
        auction__closes_at__gt=now,
    ).select_related("user", "auction__portfolio")
    sent = 0
    for watch in due[:500]:
        with transaction.atomic():
            if not Watch.objects.filter(pk=watch.pk, ending_soon_sent_at__isnull=True).update(ending_soon_sent_at=now):
                continue  # another sweep got there first
            message = _("%(title)s closes at %(when)s UTC.") % {
                "title": watch.auction.portfolio.title,
                "when": watch.auction.closes_at.strftime("%Y-%m-%d %H:%M"),
            }
            _notify(user=watch.user, auction=watch.auction, kind=Notification.Kind.ENDING_SOON, message=message)
            sent += 1
    return sent


def notifications_mark_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def results_unsent() -> int:
    """Tell the bidders of closes whose won/lost task was lost (the broker was down at the close); beat runs this
    every minute over the last day's closes. Returns how many notices it sent."""
    now = timezone.now()
    told = Notification.objects.filter(
        auction=OuterRef("auction"), user=OuterRef("user"), kind__in=[Notification.Kind.WON, Notification.Kind.LOST]
    )
    untold = (
        Participant.objects.filter(
            auction__status__in=ENDED,
            auction__closed_at__range=(now - RESULTS_LOOKBACK, now - RESULTS_GRACE),
        )
        .exclude(Exists(told))
        .values_list("auction_id", flat=True)
        .distinct()
    )
    return sum(notify_results(auction_id=auction_id) for auction_id in list(untold[:200]))
