"""In Chromium, with localstripe's stand-in Stripe.js: a 3-D Secure card's deposit is held after the challenge, a
declined card shows why and holds nothing."""

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, expect

from payments.models import Deposit
from tests.e2e.test_auction_room_browser import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def enter_card(page: Page, number: str) -> None:
    for placeholder, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"), ("cvc", "123")):
        page.get_by_placeholder(placeholder, exact=True).fill(value)
    page.get_by_role("button", name="Hold the deposit").click()


def test_deposit_in_the_browser_with_3ds_and_with_a_declined_card(
    stripe_env, browser: Browser, live_server_url, market, artifacts
):
    auction = market.auction()
    market.buyer("alice")
    market.buyer("bob")
    connections.close_all()
    url = f"{live_server_url}/payments/auctions/{auction.pk}/deposit/"

    alice = logged_in(browser, live_server_url, "alice@buyers.example.com")
    alice.goto(url)
    enter_card(alice, "4000002500003155")
    alice.get_by_role("button", name="Complete authentication").click()  # the 3-D Secure challenge
    expect(alice.locator("#deposit-status")).to_have_text("held")
    alice.screenshot(path=str(artifacts / "deposit-held.png"), full_page=True)

    bob = logged_in(browser, live_server_url, "bob@buyers.example.com")
    bob.goto(url)
    enter_card(bob, "4000000000000341")
    expect(bob.locator("#deposit-error")).to_contain_text("declined")
    expect(bob.locator("#deposit-status")).not_to_have_text("held")

    statuses = dict(Deposit.objects.values_list("user__email", "status"))
    assert statuses == {"alice@buyers.example.com": "held", "bob@buyers.example.com": "failed"}
    alice.goto(f"{live_server_url}/auctions/{auction.pk}/")
    expect(alice.get_by_role("button", name="Place bid")).to_be_enabled()  # the deposit opened bidding
