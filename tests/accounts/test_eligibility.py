"""Who may bid on what: every combination of buyer state and lot, conflicts, and the exposure cap under any bids."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.eligibility import buyer_eligibility_check
from accounts.models import Membership, RelatedPartyFlag, ReviewStatus
from auctions import selectors, services
from portfolios.models import Portfolio

pytestmark = pytest.mark.django_db

CLASSES = ["retail", "professional"]
KYC = [None, ReviewStatus.PENDING, ReviewStatus.REJECTED, ReviewStatus.APPROVED]
SUITABILITY = ["knowledge_test", "risk_warning", "reflection", "complete"]
AUDIENCES = [Portfolio.Audience.OPEN, Portfolio.Audience.PROFESSIONAL_ONLY]
EXPOSURES = {"within": Decimal("10000.00"), "above": Decimal("600000.00")}  # the cap here is 500,000


def expected(investor, kyc, suitability, audience, exposure):
    """The specification, written independently of the code: the first unmet condition wins."""
    if kyc != ReviewStatus.APPROVED:
        return "kyc_required"
    if audience == Portfolio.Audience.PROFESSIONAL_ONLY and investor == "retail":
        return "professional_only"
    if investor == "professional":
        return None
    if suitability != "complete":
        return "suitability_required"
    return "exposure_limit" if exposure == "above" else None


COMBINATIONS = list(itertools.product(CLASSES, KYC, SUITABILITY, AUDIENCES, EXPOSURES))


@pytest.mark.parametrize(("investor", "kyc", "suitability", "audience", "exposure"), COMBINATIONS)
def test_every_combination_gives_the_expected_code(market, investor, kyc, suitability, audience, exposure):
    auction = market.auction(market.portfolio(audience=audience))
    buyer = market.buyer("buyer", investor=investor, kyc=kyc, suitability=suitability, net_worth="5000000.00")
    result = buyer_eligibility_check(user=buyer, auction=auction, amount=EXPOSURES[exposure])
    assert result.code == expected(investor, kyc, suitability, audience, exposure)
    assert result.ok == (result.code is None)
    if result.code:
        assert result.message  # a sentence telling the buyer what to do next


@pytest.mark.parametrize("role", Membership.Role.values)
def test_no_member_of_the_seller_may_bid_on_its_lots(market, role):
    auction = market.auction()
    insider = market.buyer("insider")
    Membership.objects.create(user=insider, organization=market.seller, role=role)
    assert buyer_eligibility_check(user=insider, auction=auction).code == "own_listing"


def test_related_parties_and_suspended_users_are_blocked(market, make_user):
    auction = market.auction()
    related, suspended = market.buyer("related"), market.buyer("suspended")
    staff = make_user("staff@example.com", is_staff=True)
    RelatedPartyFlag.objects.create(
        user=related,
        seller=market.seller,
        relation=RelatedPartyFlag.Relation.DEBTOR,
        note="guarantor",
        flagged_by=staff,
    )
    suspended.is_suspended = True
    suspended.save()
    assert buyer_eligibility_check(user=related, auction=auction).code == "related_party"
    assert buyer_eligibility_check(user=suspended, auction=auction).code == "suspended"


def test_anonymous_visitors_are_asked_to_sign_in(market):
    from django.contrib.auth.models import AnonymousUser

    result = buyer_eligibility_check(user=AnonymousUser(), auction=market.auction())
    assert result.code == "login_required" and result.action_url


def test_the_bid_service_refuses_with_the_eligibility_code_and_writes_nothing(market):
    auction = market.auction(market.portfolio(audience=Portfolio.Audience.PROFESSIONAL_ONLY))
    retail = market.buyer("retail", investor="retail", deposit_on=auction)
    with pytest.raises(services.AuctionError) as excinfo:
        services.bid_place(user=retail, auction_id=auction.pk, amount="10000.00")
    assert (excinfo.value.code, excinfo.value.http_status) == ("professional_only", 403)
    assert not auction.bids.exists()


def test_a_retail_buyers_commitments_never_exceed_the_cap(market, settings):
    """Cap 100,000 (10 % of 1,000,000); any sequence of manual bids and maxima on three lots stays within it."""
    settings.BID_RATE_LIMIT = 10_000
    lots = [market.auction(starting_price="10000.00", increment="1000.00") for _ in range(3)]
    retail = market.buyer("retail", investor="retail", net_worth="1000000.00")
    rival = market.buyer("rival")
    for lot in lots:
        market.deposit(retail, lot)
        market.deposit(rival, lot)
    cap = Decimal("100000.00")
    actions = st.lists(
        st.tuples(
            st.sampled_from([retail, rival]),
            st.sampled_from(["bid", "max"]),
            st.integers(0, 2),
            st.integers(10, 120).map(lambda thousands: f"{thousands * 1000}.00"),
        ),
        max_size=15,
    )

    @hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(actions)
    def check(sequence):
        for buyer, kind, lot, amount in sequence:
            try:
                if kind == "bid":
                    services.bid_place(user=buyer, auction_id=lots[lot].pk, amount=amount)
                else:
                    services.proxy_bid_set(user=buyer, auction_id=lots[lot].pk, max_amount=amount)
            except services.AuctionError as error:
                assert error.code in ("too_low", "already_leading", "exposure_limit")
            assert selectors.open_commitments(user=retail) <= cap

    check()
