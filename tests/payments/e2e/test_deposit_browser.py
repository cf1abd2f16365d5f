"""In Chromium, with localstripe's stand-in Stripe.js: a 3-D Secure card's deposit is held after the challenge, a
declined card shows why and holds nothing; the winner pays the balance with a 3-D Secure card."""

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from auctions import services as auction_services
from auctions.models import Auction
from payments.models import Deposit, Settlement
from tests.e2e.test_auction_room_browser import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def enter_card(page: Page, number: str, button: str = "Hold the deposit") -> None:
    for placeholder, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"), ("cvc", "123")):
        page.get_by_placeholder(placeholder, exact=True).fill(value)
    page.get_by_role("button", name=button).click()


def test_deposit_in_the_browser_with_3ds_and_with_a_declined_card(
    stripe_env, browser: Browser, live_server_url, market, artifacts
):
    auction = market.auction()
    alice_user = market.buyer("alice")
    market.buyer("bob")
    connections.close_all()
    url = f"{live_server_url}/payments/auctions/{auction.pk}/deposit/"

    alice = logged_in(browser, live_server_url, "alice@buyers.example.com")
    alice.goto(url)
    enter_card(alice, "4000002500003155")
    alice.get_by_role("button", name="Complete authentication").click()  # the 3-D Secure challenge
    expect(alice.locator("#payment-status")).to_have_text("held")
    alice.screenshot(path=str(artifacts / "deposit-held.png"), full_page=True)

    bob = logged_in(browser, live_server_url, "bob@buyers.example.com")
    bob.goto(url)
    enter_card(bob, "4000000000000341")
    expect(bob.locator("#payment-error")).to_contain_text("declined")
    expect(bob.locator("#payment-status")).not_to_have_text("held")

    statuses = dict(Deposit.objects.values_list("user__email", "status"))
    assert statuses == {"alice@buyers.example.com": "held", "bob@buyers.example.com": "failed"}
    alice.goto(f"{live_server_url}/auctions/{auction.pk}/")
    expect(alice.get_by_role("button", name="Place bid")).to_be_enabled()  # the deposit opened bidding

    # She wins; the close captures her hold; she pays the balance with a 3-D Secure card.
    auction_services.bid_place(user=alice_user, auction_id=auction.pk, amount="10000.00")
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(closes_at=now, ends_at=now)
    auction_services.auction_close(auction_id=auction.pk)  # payments take over on commit (eager here)
    settlement = Settlement.objects.get(auction=auction)
    assert Deposit.objects.get(user=alice_user).status == "applied"
    alice.goto(f"{live_server_url}/payments/settlements/{settlement.pk}/pay/")
    expect(alice.locator("#balance-due")).to_have_text("9200.00 CNY")  # 10,000 + 2 % premium - 1,000 deposit
    enter_card(alice, "4000002500003155", button="Pay by card")
    alice.get_by_role("button", name="Complete authentication").click()
    expect(alice.locator("#payment-status")).to_have_text("paid")
    alice.reload()
    expect(alice.get_by_role("link", name="Bill of sale (PDF)")).to_be_visible()
    alice.screenshot(path=str(artifacts / "balance-paid.png"), full_page=True)
    assert Settlement.objects.get(pk=settlement.pk).status == "paid"
