"""Who may bid on what: the one buyer-eligibility check the auction engine runs on every bid and pages show."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import User


class Listing(Protocol):
    seller_id: int
    audience: str


class Lot(Protocol):
    """What eligibility needs to know about an auction (auctions.models.Auction fits)."""

    pk: int
    currency: str

    @property
    def portfolio(self) -> Listing: ...


@dataclass(frozen=True)
class Eligibility:
    """`code` is None when the buyer may bid; otherwise an API bid error code, a sentence and where to fix it."""

    code: str | None = None
    message: str = ""
    action_url: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is None


ELIGIBLE = Eligibility()


def buyer_eligibility_check(
    *,
    user: User | AnonymousUser,
    auction: Lot,
    amount: Decimal | None = None,
    standing: selectors.Standing | None = None,
) -> Eligibility:
    """The first reason `user` may not bid `amount` on `auction` (any amount when None), checked in the order a
    buyer can fix them: sign in, not suspended, no conflict, verified, professional lots, suitability, exposure.
    `standing` is the buyer's, towards this auction's seller, when the caller has already read it."""
    if not user.is_authenticated:
        return Eligibility("login_required", _("Sign in to bid."), reverse("accounts:login"))
    buyer = standing or selectors.standing(user=user, seller_id=auction.portfolio.seller_id)
    if buyer.suspended or user.is_suspended or not user.is_active:  # the standing is fresh, `user` may be older
        return Eligibility("suspended", _("Your account is suspended from bidding. Contact support."))
    if buyer.seller_member:
        return Eligibility("own_listing", _("You belong to the seller of this portfolio, so you cannot bid on it."))
    if buyer.related_party:
        return Eligibility(
            "related_party", _("You are recorded as related to this seller or its debtors, so you cannot bid here.")
        )
    kyc = buyer.kyc_status
    if kyc != "approved":
        message = {
            "pending": _("Your identity check is being reviewed; you can bid once it is approved."),
            "rejected": _("Your identity check was rejected; see why and submit it again."),
        }.get(kyc, _("Verify your identity before bidding."))
        return Eligibility("kyc_required", message, reverse("accounts:verification"))
    professional = buyer.investor_class == "professional"
    if auction.portfolio.audience == "professional_only" and not professional:
        return Eligibility(
            "professional_only",
            _("Only professional investors may bid on this portfolio. Apply for classification if you qualify."),
            reverse("accounts:verification"),
        )
    if professional:
        return ELIGIBLE
    suitability = selectors.suitability(user=user)
    if suitability.step != "complete":
        message = {
            "knowledge_test": _("Pass the knowledge test about bad-debt investing before your first bid."),
            "risk_warning": _("Read and acknowledge the risk warning before your first bid."),
        }.get(suitability.step, "")
        if suitability.step == "reflection" and suitability.ready_at is not None:
            message = _("Your reflection period ends %(when)s; you can look at lots but not bid until then.") % {
                "when": date_format(suitability.ready_at, "DATETIME_FORMAT")
            }
        return Eligibility("suitability_required", message, reverse("accounts:suitability"))
    return _within_exposure_cap(user=user, auction=auction, amount=amount)


def _within_exposure_cap(*, user: User, auction: Lot, amount: Decimal | None) -> Eligibility:
    # Open commitments span auctions and payments; they answer through the auction engine's one selector.
    from auctions.selectors import open_commitments

    cap = selectors.exposure_cap(user=user)
    if cap is None:
        return ELIGIBLE
    if auction.currency != settings.RETAIL_EXPOSURE_CURRENCY:
        return Eligibility(
            "exposure_limit",
            _("Retail buyers may bid only on lots priced in %(currency)s, the currency of their exposure limit.")
            % {"currency": settings.RETAIL_EXPOSURE_CURRENCY},
        )
    elsewhere = open_commitments(user=user, excluding_auction_id=auction.pk)
    room = cap - elsewhere
    if room <= 0 or (amount is not None and amount > room):
        return Eligibility(
            "exposure_limit",
            _(
                "This bid would take your open commitments above your limit of %(cap)s %(currency)s "
                "(%(open)s already committed elsewhere)."
            )
            % {"cap": cap, "currency": auction.currency, "open": elsewhere},
            reverse("accounts:suitability"),
        )
    return ELIGIBLE
