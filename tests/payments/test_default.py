"""A winner who does not pay by the deadline defaults: the deposit is forfeited (split per settings, in the ledger),
the defaulter cannot post a deposit on that portfolio or bid on it again, and the runner-up is offered the lot at
their own last bid for 48 hours; declined, lapsed or unpaid, the lot goes back to the seller for the next round."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from auctions import selectors as auction_selectors
from auctions import services as auction_services
from auctions.models import Auction, Notification
from payments import ledger, selectors, services, tasks
from payments.models import Deposit, LedgerEntry, RunnerUpOffer, Settlement
from portfolios import services as portfolio_services
from portfolios.models import PiiRelease, Portfolio, PortfolioEvent
from portfolios.services import loan_tape
from tests.payments.conftest import close_now
from tests.payments.test_deposits import THREE_D_SECURE, authenticate_3ds, card
from tests.portfolios.conftest import csv_upload, loan_row, new_draft

pytestmark = pytest.mark.django_db


def test_an_unpaid_settlement_defaults_after_the_deadline_and_the_deposit_is_forfeited(
    sold,
    market,
    settings,
    client,
    django_capture_on_commit_callbacks,
):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    assert services.settlements_default_due() == 0
    with pytest.raises(services.PaymentError, match="deadline"):
        services.settlement_default(settlement_id=settlement.pk)

    Settlement.objects.filter(pk=settlement.pk).update(due_at=timezone.now() - timedelta(seconds=1))  # time passes
    settings.FORFEIT_SELLER_SHARE = Decimal("0.40")
    tasks.settlements_default_due.delay()
    tasks.settlements_default_due.delay()  # the next sweep finds nothing to do

    assert Settlement.objects.get().status == "defaulted"
    assert Auction.objects.get(pk=auction.pk).status == "defaulted"  # the engine hears it
    assert Deposit.objects.get(user=bob).status == "forfeited"
    for key, total in LedgerEntry.objects.values_list("transaction").annotate(total=Sum("amount")):
        assert total == 0, key
    assert ledger.balance(account=f"buyer:{bob.pk}", currency="CNY") == 0
    assert ledger.balance(account=f"seller:{market.seller.pk}", currency="CNY") == Decimal("-400.00")  # owed to them
    assert ledger.balance(account="revenue:forfeiture", currency="CNY") == Decimal("-600.00")
    assert ledger.balance(account="cash", currency="CNY") == Decimal("1000.00")
    assert LedgerEntry.objects.filter(kind="forfeiture").values("transaction").distinct().count() == 1
    with pytest.raises(services.PaymentError, match="defaulted"):
        services.settlement_mark_paid(settlement_id=settlement.pk)

    # The next round of the same portfolio (its relisting belongs to the auction engine) is closed to bob.
    Portfolio.objects.filter(pk=auction.portfolio_id).update(status=Portfolio.Status.APPROVED)
    next_round = market.auction(portfolio=Portfolio.objects.get(pk=auction.portfolio_id))
    client.force_login(bob)
    response = client.post(
        f"/api/v1/auctions/{next_round.pk}/deposit/",
        {"payment_method": "pm_card_visa"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "defaulted_buyer")


def test_a_paid_settlement_never_defaults(sold, django_capture_on_commit_callbacks):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    services.settlement_pay(user=bob, settlement_id=settlement.pk, payment_method="pm_card_visa")
    Settlement.objects.filter(pk=settlement.pk).update(due_at=timezone.now() - timedelta(days=1))
    assert services.settlements_default_due() == 0
    assert Settlement.objects.get().status == "paid"


def test_a_balance_paid_after_the_default_is_refunded(sold, stripe_api, stripe_env, django_capture_on_commit_callbacks):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    three_ds = card(stripe_api, THREE_D_SECURE)
    services.settlement_pay(user=bob, settlement_id=settlement.pk, payment_method=three_ds)
    Settlement.objects.filter(pk=settlement.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    services.settlements_default_due()
    secret = stripe_api.v1.payment_intents.retrieve(Settlement.objects.get().payment_intent).client_secret
    authenticate_3ds(stripe_env, secret)  # bob finishes 3-D Secure too late

    services.settlement_sync(settlement_id=settlement.pk)  # as the webhook would
    services.settlement_sync(settlement_id=settlement.pk)  # twice: one refund
    settlement.refresh_from_db()
    refunds = stripe_api.v1.refunds.list(params={"payment_intent": settlement.payment_intent}).data
    assert settlement.status == "defaulted" and settlement.refunded_at is not None
    assert [(refund.amount, refund.status) for refund in refunds] == [(1124000, "succeeded")]  # all of it, once


def assert_ledger_balances():
    for key, total in LedgerEntry.objects.values_list("transaction").annotate(total=Sum("amount")):
        assert total == 0, key


def default_now(settlement, capture):
    """The payment deadline passes (a moved clock) and beat's minute sweep runs, committing as in production."""
    Settlement.objects.filter(pk=settlement.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    with capture(execute=True):
        tasks.settlements_default_due.delay()


def relist(client, trader, auction, starting_price="9000.00"):
    client.force_login(trader)
    now = timezone.now()
    body = {
        "starts_at": (now - timedelta(seconds=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "starting_price": starting_price,
        "deposit_amount": "900.00",
    }
    return client.post(f"/api/v1/auctions/{auction.pk}/relist/", body, content_type="application/json")


def test_default_forfeits_bans_offers_the_runner_up_and_a_declined_lot_is_relisted_without_the_defaulter(
    sold, market, client, mailoutbox, django_capture_on_commit_callbacks
):
    auction, (alice, bob, carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    mailoutbox.clear()
    default_now(Settlement.objects.get(), django_capture_on_commit_callbacks)

    # Forfeiture, balanced.
    assert Deposit.objects.get(user=bob).status == "forfeited"
    assert_ledger_balances()
    assert ledger.balance(account="cash", currency="CNY") == Decimal("1000.00")

    # The runner-up (alice, 10,000; bob won at 12,000) is offered the lot at her own last bid for 48 hours.
    offer = RunnerUpOffer.objects.get()
    assert (offer.buyer, offer.amount, offer.currency, offer.status) == (alice, Decimal("10000.00"), "CNY", "offered")
    assert abs(offer.expires_at - (timezone.now() + timedelta(hours=48))) < timedelta(minutes=1)
    notice = Notification.objects.get(kind="offer")
    assert notice.user == alice and "10000.00 CNY" in notice.message
    [mail] = mailoutbox
    assert mail.to == [alice.email] and "/payments/" in mail.body and "10000.00 CNY" in mail.body

    # Her dashboard says what she would owe and what she risks, with CSRF-protected buttons; the API lists it too.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get("/payments/")
    html = page.content.decode()
    assert page.status_code == 200 and f'id="offer-accept-{offer.pk}"' in html and "10000.00 CNY" in html
    assert "barred from bidding on this portfolio" in html and "csrfmiddlewaretoken" in html
    assert browser.post(f"/payments/offers/{offer.pk}/decline/").status_code == 403  # no CSRF token: refused
    client.force_login(alice)
    listed = client.get("/api/v1/offers/").json()["results"]
    assert [(row["id"], row["amount"], row["status"]) for row in listed] == [(offer.pk, "10000.00", "offered")]
    client.force_login(bob)
    assert client.post(f"/api/v1/offers/{offer.pk}/decline/").status_code == 404  # not his offer
    assert RunnerUpOffer.objects.get().status == "offered"

    # She declines on the page: the lot goes back to the seller, unsold.
    token = browser.cookies["csrftoken"].value
    declined = browser.post(f"/payments/offers/{offer.pk}/decline/", {"csrfmiddlewaretoken": token})
    assert (declined.status_code, declined["Location"]) == (302, "/payments/")
    assert RunnerUpOffer.objects.get().status == "declined"
    portfolio = Portfolio.objects.get(pk=auction.portfolio_id)
    assert portfolio.status == "unsold"
    assert PortfolioEvent.objects.filter(portfolio=portfolio, from_status="sold", to_status="unsold").count() == 1
    client.force_login(alice)
    again = client.post(f"/api/v1/offers/{offer.pk}/decline/")
    assert (again.status_code, again.json()["status"]) == (200, "declined")  # repeating changes nothing

    # The seller relists: round 2.
    response = relist(client, market.trader, Auction.objects.get(pk=auction.pk))
    assert response.status_code == 201, response.json()
    round_two = Auction.objects.get(pk=response.json()["id"])
    assert (round_two.round, round_two.portfolio_id) == (2, auction.portfolio_id)

    # The defaulter is refused the deposit, the deposit page and the bid; others may bid.
    client.force_login(bob)
    refused = client.post(
        f"/api/v1/auctions/{round_two.pk}/deposit/", {"payment_method": "pm_card_visa"}, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "defaulted_buyer")
    assert 'id="deposit-barred"' in client.get(f"/payments/auctions/{round_two.pk}/deposit/").content.decode()
    assert auction_selectors.bid_blocker(user=bob, auction=round_two).code == "defaulted_buyer"  # not "post one"
    assert "did not pay" in client.get(f"/auctions/{round_two.pk}/").content.decode()
    with pytest.raises(auction_services.AuctionError) as refusal:
        auction_services.bid_place(user=bob, auction_id=round_two.pk, amount="9000.00")
    assert refusal.value.code == "defaulted_buyer"
    bid = client.post(f"/api/v1/auctions/{round_two.pk}/bids/", {"amount": "9000.00"}, content_type="application/json")
    assert (bid.status_code, bid.json()["code"]) == (403, "defaulted_buyer")
    assert not Deposit.objects.filter(auction=round_two).exists()
    assert services.deposit_hold(user=carol, auction_id=round_two.pk, payment_method="pm_card_visa").status == "held"
    auction_services.bid_place(user=carol, auction_id=round_two.pk, amount="9000.00")
    assert Auction.objects.get(pk=round_two.pk).leader == carol


def sold_with_loans(market, make_user, capture):
    """A portfolio with a real loan tape (debtor names in the vault); alice 10,000, bob wins at 12,000."""
    staff = make_user("moderator@example.com", is_staff=True, is_superuser=True)
    portfolio = new_draft(market.trader, market.seller)
    with capture(execute=True):
        loan_tape.loan_tape_upload(
            user=market.trader, portfolio=portfolio, file=csv_upload([loan_row(n) for n in range(3)]), mapping=None
        )
    portfolio_services.portfolio_submit(user=market.trader, portfolio=portfolio)
    portfolio = portfolio_services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=True)
    auction = market.auction(portfolio=portfolio, deposit_amount="1000.00")
    alice, bob = market.buyer("alice"), market.buyer("bob")
    for buyer, amount in ((alice, "10000.00"), (bob, "12000.00")):
        services.deposit_hold(user=buyer, auction_id=auction.pk, payment_method="pm_card_visa")
        auction_services.bid_place(user=buyer, auction_id=auction.pk, amount=amount)
    close_now(auction, capture)
    return auction, alice, bob


def test_the_runner_up_accepts_pays_by_card_and_receives_the_debtor_file(
    market, make_user, client, django_capture_on_commit_callbacks
):
    auction, alice, bob = sold_with_loans(market, make_user, django_capture_on_commit_callbacks)
    default_now(Settlement.objects.get(), django_capture_on_commit_callbacks)
    offer = RunnerUpOffer.objects.get(buyer=alice)

    client.force_login(alice)
    accepted = client.post(f"/api/v1/offers/{offer.pk}/accept/")
    assert accepted.status_code == 200, accepted.json()
    body = accepted.json()["settlement"]
    assert (body["hammer_price"], body["buyer_premium"], body["deposit_applied"], body["balance_due"]) == (
        "10000.00",
        "200.00",
        "0.00",
        "10200.00",
    )
    assert client.post(f"/api/v1/offers/{offer.pk}/accept/").json()["settlement"]["id"] == body["id"]  # once
    assert Settlement.objects.filter(auction=auction).count() == 2
    settlement = Settlement.objects.get(pk=body["id"])
    assert settlement.buyer == alice and settlement.status == "awaiting_payment"
    assert timedelta(days=6, hours=23) < settlement.due_at - timezone.now() <= timedelta(days=7)

    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(
            f"/api/v1/settlements/{settlement.pk}/pay/",
            {"payment_method": "pm_card_visa"},
            content_type="application/json",
        )
    assert paid.json()["status"] == "paid", paid.json()
    assert Auction.objects.get(pk=auction.pk).status == "settled"
    assert PiiRelease.objects.get(portfolio=auction.portfolio).buyer == alice

    notices = client.get(f"/payments/settlements/{settlement.pk}/transfer-notices.csv")
    rows = list(csv.DictReader(io.StringIO(notices.content.decode())))
    assert [(row["loan_id"], row["debtor_name"]) for row in rows] == [
        (f"L-{n:06d}", f"Debtor Name {n}") for n in range(3)
    ]
    assert client.get(f"/payments/settlements/{settlement.pk}/bill-of-sale.pdf").status_code == 200
    client.force_login(bob)
    assert client.get(f"/payments/settlements/{settlement.pk}/transfer-notices.csv").status_code == 404

    assert_ledger_balances()
    assert ledger.balance(account=f"buyer:{alice.pk}", currency="CNY") == 0
    assert ledger.balance(account=f"buyer:{bob.pk}", currency="CNY") == 0
    assert ledger.balance(account="cash", currency="CNY") == Decimal("11200.00")  # bob's forfeit + alice's balance
    # Owed to the seller: half of bob's deposit, and alice's price less commission (paid out next).
    assert ledger.balance(account=f"seller:{market.seller.pk}", currency="CNY") == Decimal("-10200.00")


def test_a_runner_up_who_accepts_and_does_not_pay_is_barred_too_and_the_lot_returns(
    sold, market, client, django_capture_on_commit_callbacks
):
    auction, (alice, _bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    default_now(Settlement.objects.get(), django_capture_on_commit_callbacks)
    offer = services.offer_accept(user=alice, offer_id=RunnerUpOffer.objects.get().pk)
    assert Portfolio.objects.get(pk=auction.portfolio_id).status == "sold"  # hers while she may pay

    default_now(offer.settlement, django_capture_on_commit_callbacks)  # the second default

    second = Settlement.objects.get(pk=offer.settlement_id)
    assert (second.status, second.forfeit_seller_amount) == ("defaulted", 0)  # no deposit to forfeit
    assert Deposit.objects.get(user=alice).status == "released"
    assert selectors.defaulted_on_portfolio(user=alice, portfolio_id=auction.portfolio_id)
    assert RunnerUpOffer.objects.count() == 1  # no third chance: the lot goes back
    assert Portfolio.objects.get(pk=auction.portfolio_id).status == "unsold"
    assert Auction.objects.get(pk=auction.pk).status == "defaulted"
    assert ledger.balance(account=f"buyer:{alice.pk}", currency="CNY") == 0
    assert_ledger_balances()
    assert relist(client, market.trader, Auction.objects.get(pk=auction.pk)).status_code == 201


def test_an_offer_lapses_after_48_hours_and_the_lot_returns(sold, market, client, django_capture_on_commit_callbacks):
    auction, (alice, _bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    default_now(Settlement.objects.get(), django_capture_on_commit_callbacks)
    offer = RunnerUpOffer.objects.get()
    assert services.offers_expire_due() == 0  # not yet

    RunnerUpOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))  # 48 h pass
    tasks.offers_expire_due.delay()
    tasks.offers_expire_due.delay()

    assert RunnerUpOffer.objects.get().status == "expired"
    assert Portfolio.objects.get(pk=auction.portfolio_id).status == "unsold"
    client.force_login(alice)
    late = client.post(f"/api/v1/offers/{offer.pk}/accept/")
    assert (late.status_code, late.json()["code"]) == (409, "offer_expired")
    assert Settlement.objects.count() == 1


def test_an_offer_accepted_after_its_time_lapses_on_the_spot(sold, django_capture_on_commit_callbacks):
    auction, (alice, _bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    default_now(Settlement.objects.get(), django_capture_on_commit_callbacks)
    RunnerUpOffer.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # beat has not run yet
    with pytest.raises(services.PaymentError, match="lapsed"):
        services.offer_accept(user=alice, offer_id=RunnerUpOffer.objects.get().pk)
    assert RunnerUpOffer.objects.get().status == "expired"
    assert Portfolio.objects.get(pk=auction.portfolio_id).status == "unsold"


def test_a_runner_up_who_may_no_longer_bid_cannot_accept(sold, django_capture_on_commit_callbacks):
    auction, (alice, _bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    default_now(Settlement.objects.get(), django_capture_on_commit_callbacks)
    alice.is_suspended = True
    alice.save()
    with pytest.raises(services.PaymentError) as refusal:
        services.offer_accept(user=alice, offer_id=RunnerUpOffer.objects.get().pk)
    assert refusal.value.code == "suspended"
    assert RunnerUpOffer.objects.get().status == "offered" and Settlement.objects.count() == 1


@pytest.mark.parametrize(
    ("reserve", "bidders"),
    [("10000.00", ["bob"]), ("11000.00", ["alice", "bob"])],
    ids=["no-other-bidder", "runner-up-below-reserve"],
)
def test_without_a_runner_up_the_lot_returns_at_the_default(
    market, reserve, bidders, django_capture_on_commit_callbacks
):
    auction = market.auction(starting_price="10000.00", reserve_price=reserve, deposit_amount="1000.00")
    for name, amount in zip(bidders, ("10000.00", "12000.00")[-len(bidders) :], strict=True):
        buyer = market.buyer(name)
        services.deposit_hold(user=buyer, auction_id=auction.pk, payment_method="pm_card_visa")
        auction_services.bid_place(user=buyer, auction_id=auction.pk, amount=amount)
    close_now(auction, django_capture_on_commit_callbacks)
    default_now(Settlement.objects.get(), django_capture_on_commit_callbacks)
    assert not RunnerUpOffer.objects.exists()
    assert Portfolio.objects.get(pk=auction.portfolio_id).status == "unsold"
