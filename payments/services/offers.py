"""Runner-up offers: after the winner defaults, the next-highest bidder may buy the lot at their own last bid within
RUNNER_UP_OFFER_HOURS; accepting opens their settlement, declining or letting it lapse returns the lot to the seller.

One offer per auction (a database constraint): a second default — the runner-up's own settlement — returns the lot.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.eligibility import buyer_eligibility_check
from accounts.models import User
from auctions import selectors as auction_selectors
from auctions.models import Auction, Notification
from marketplace.money import text
from payments import ledger
from payments.errors import PaymentError
from payments.models import RunnerUpOffer, Settlement
from payments.services.settlement import settlement_terms
from portfolios import services as portfolio_services
from portfolios.models import Portfolio

log = logging.getLogger(__name__)


def offer_after_default(*, settlement: Settlement) -> RunnerUpOffer | None:
    """Called in the transaction that defaults `settlement`: offer the lot to the runner-up once per auction, or
    return the lot to the seller (no runner-up, a runner-up below the reserve, or the runner-up defaulted too)."""
    auction = Auction.objects.select_related("portfolio").get(pk=settlement.auction_id)
    if RunnerUpOffer.objects.filter(auction=auction).exists():
        _lot_return(auction=auction, reason=_("The runner-up did not pay either."))  # a second default
        return None
    candidate = auction_selectors.runner_up(auction_id=auction.pk, exclude_user_id=settlement.buyer_id)
    if candidate is None or candidate[1] < auction.reserve_price:
        _lot_return(auction=auction, reason=_("The winner defaulted and no other bid met the reserve."))
        return None
    buyer_id, amount = candidate
    offer = RunnerUpOffer.objects.create(
        auction=auction,
        defaulted=settlement,
        buyer_id=buyer_id,
        amount=amount,
        currency=auction.currency,
        expires_at=timezone.now() + timedelta(hours=settings.RUNNER_UP_OFFER_HOURS),
    )
    _notify_offer(offer=offer, auction=auction)
    return offer


def _notify_offer(*, offer: RunnerUpOffer, auction: Auction) -> None:
    """On the buyer's notification list, and by e-mail from a worker once the default commits."""
    message = _(
        "The winner of %(title)s did not pay. You may buy it at your own last bid of %(amount)s %(currency)s "
        "(plus the buyer's premium) until %(until)s UTC."
    ) % {
        "title": auction.portfolio.title,
        "amount": text(offer.amount),
        "currency": offer.currency,
        "until": offer.expires_at.strftime("%Y-%m-%d %H:%M"),
    }
    Notification.objects.create(user=offer.buyer, auction=auction, kind=Notification.Kind.OFFER, message=message)
    account_services.email_queue(
        to=offer.buyer.email,
        subject=message,
        template="payments/email/offer.txt",
        context={"user": offer.buyer, "message": message, "link": settings.SITE_URL + reverse("payments:mine")},
    )


def _lot_return(*, auction: Auction, reason: str) -> None:
    """The sale fell through: the portfolio goes back to the seller, unsold, to relist (idempotent). Never once a
    settlement of the auction is paid (the debts belong to that buyer)."""
    paid = (Settlement.Status.PAID, Settlement.Status.PAID_OUT)
    if Settlement.objects.filter(auction_id=auction.pk, status__in=paid).exists():
        log.error("auction %s: a paid settlement exists; the lot stays sold (%s)", auction.pk, reason)
        return
    portfolio = Portfolio.objects.get(pk=auction.portfolio_id)
    if portfolio.status == Portfolio.Status.SOLD:
        portfolio_services.portfolio_transition(
            portfolio=portfolio, to=Portfolio.Status.UNSOLD, actor=None, reason=reason
        )
        log.info("auction %s: lot returned to the seller (%s)", auction.pk, reason)


def _locked_offer(*, user: User, offer_id: int) -> RunnerUpOffer:
    offer = RunnerUpOffer.objects.select_for_update(of=("self",)).select_related("auction__portfolio")
    found = offer.filter(pk=offer_id, buyer=user).first()
    if found is None:
        raise PaymentError("not_found", _("No such offer."), http_status=404)
    return found


def _expire_if_due(offer: RunnerUpOffer) -> bool:
    """Under the offer's lock: lapse an open offer past its time and return the lot. True if it lapsed now."""
    if offer.status != RunnerUpOffer.Status.OFFERED or timezone.now() < offer.expires_at:
        return False
    offer.status, offer.decided_at = RunnerUpOffer.Status.EXPIRED, timezone.now()
    offer.save(update_fields=["status", "decided_at"])
    _lot_return(auction=offer.auction, reason=_("The runner-up's offer lapsed."))
    return True


def offer_accept(*, user: User, offer_id: int) -> RunnerUpOffer:
    """The runner-up buys the lot at their offer: a new settlement for them (premium and commission as usual, no
    deposit applied since theirs was released at the close), balance due within SETTLEMENT_DUE_DAYS. They must still
    be eligible to bid this much here (the deposit aside). Accepting again returns the same offer."""
    with transaction.atomic():
        offer = _locked_offer(user=user, offer_id=offer_id)
        if offer.status == RunnerUpOffer.Status.ACCEPTED:
            return offer
        _expire_if_due(offer)
        if offer.status == RunnerUpOffer.Status.OFFERED:
            eligibility = buyer_eligibility_check(user=user, auction=offer.auction, amount=offer.amount)
            if not eligibility.ok:
                raise PaymentError(str(eligibility.code), eligibility.message, http_status=403)
            terms = settlement_terms(buyer_id=user.pk, hammer=offer.amount, currency=offer.currency, deposit=Decimal(0))
            settlement = Settlement.objects.create(auction_id=offer.auction_id, **terms)
            ledger.sale_posted(settlement=settlement, seller_id=offer.auction.portfolio.seller_id)
            offer.status, offer.decided_at, offer.settlement = RunnerUpOffer.Status.ACCEPTED, timezone.now(), settlement
            offer.save(update_fields=["status", "decided_at", "settlement"])
            return offer
    if offer.status == RunnerUpOffer.Status.EXPIRED:  # (a lapse found just now is committed first)
        raise PaymentError(
            "offer_expired", _("This offer has lapsed; the lot went back to the seller."), http_status=409
        )
    raise PaymentError("offer_closed", _("This offer was declined."), http_status=409)


def offer_decline(*, user: User, offer_id: int) -> RunnerUpOffer:
    """The runner-up turns the offer down: the lot goes back to the seller. Declining again changes nothing."""
    with transaction.atomic():
        offer = _locked_offer(user=user, offer_id=offer_id)
        if offer.status == RunnerUpOffer.Status.DECLINED or _expire_if_due(offer):
            return offer
        if offer.status != RunnerUpOffer.Status.OFFERED:
            raise PaymentError("offer_closed", _("This offer is no longer open."), http_status=409)
        offer.status, offer.decided_at = RunnerUpOffer.Status.DECLINED, timezone.now()
        offer.save(update_fields=["status", "decided_at"])
        _lot_return(auction=offer.auction, reason=_("The runner-up declined the offer."))
    return offer


def offers_expire_due() -> int:
    """Lapse every open offer past its time and return those lots (beat runs this every minute); how many."""
    count = 0
    due = RunnerUpOffer.objects.filter(status=RunnerUpOffer.Status.OFFERED, expires_at__lte=timezone.now())
    for offer_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            offer = RunnerUpOffer.objects.select_for_update(of=("self",)).select_related("auction").get(pk=offer_id)
            count += _expire_if_due(offer)
    return count
