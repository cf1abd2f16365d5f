"""Two buyers bid against each other in Chromium, over the socket: each sees the other's bid, the outbid notice, the
soft-close extension, the price chart growing and the result live, without reloading."""

import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery"


def logged_in(browser: Browser, url: str, email: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(url + "/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return page


def test_two_buyers_bid_live_and_see_the_close(browser: Browser, live_server_url, market, artifacts):
    alice_email, bob_email = "alice@buyers.example.com", "bob@buyers.example.com"
    alice, bob = market.buyer("alice"), market.buyer("bob")
    alice_page, bob_page = (
        logged_in(browser, live_server_url, alice_email),
        logged_in(browser, live_server_url, bob_email),
    )
    now = timezone.now()
    auction = market.auction(
        starts_at=now,
        ends_at=now + timedelta(seconds=20),
        soft_close_window=timedelta(seconds=20),
        soft_close_extension=timedelta(seconds=25),
    )
    market.deposit(alice, auction)
    market.deposit(bob, auction)
    connections.close_all()
    room = f"{live_server_url}/auctions/{auction.pk}/"
    alice_page.goto(room)
    bob_page.goto(room)
    first_close = bob_page.locator("#closes-at").get_attribute("datetime")

    for page in (alice_page, bob_page):
        expect(page.locator("#watchers")).to_have_text("2")
    alice_page.get_by_role("button", name="Place bid").click()
    expect(alice_page.locator("#bid-result")).to_have_text("Your bid is in.")
    expect(alice_page.locator("#your-status")).to_have_text("Bidder 1 · You are leading")
    expect(bob_page.locator("#current-price")).to_have_text("10000.00 CNY")  # live, no reload
    expect(bob_page.locator("#ledger")).to_contain_text("Bidder 1")
    expect(bob_page.locator("#amount")).to_have_value("10100.00")
    expect(bob_page.locator("#closes-at")).not_to_have_attribute("datetime", first_close or "")  # extended

    bob_page.get_by_role("button", name="Place bid").click()
    expect(bob_page.locator("#your-status")).to_have_text("Bidder 2 · You are leading")
    expect(alice_page.locator("#live-status")).to_contain_text("outbid")
    expect(alice_page.locator("#your-status")).to_have_text("Bidder 1 · You are outbid")
    expect(alice_page.locator("#current-price")).to_have_text("10100.00 CNY")
    expect(alice_page.locator("#leader")).to_have_text("Bidder 2")
    chart_points = "() => Chart.getChart('price-chart').data.datasets[0].data"
    assert alice_page.evaluate(chart_points) == [10000, 10100]  # the chart grew with each live bid
    bob_page.fill("#amount", "10150.00")  # below the next minimum: the socket answers, nothing reloads
    bob_page.get_by_role("button", name="Place bid").click()
    expect(bob_page.locator("#bid-result")).to_contain_text("at least")
    expect(bob_page.locator("#amount")).to_have_value("10200.00")
    alice_page.screenshot(path=str(artifacts / "auction-room-outbid.png"), full_page=True)

    for page in (alice_page, bob_page):  # the worker closes it at the extended end
        expect(page.locator("#status")).to_contain_text("Closed: sold", timeout=45_000)
        expect(page.locator("#bid-button")).to_be_disabled()
    bob_page.screenshot(path=str(artifacts / "auction-room-closed.png"), full_page=True)


def test_my_auctions_follow_prices_and_results_live(browser: Browser, live_server_url, market, artifacts):
    from auctions import notifications, services

    alice, bob = market.buyer("alice"), market.buyer("bob")
    now = timezone.now()
    auction = market.auction(starts_at=now, ends_at=now + timedelta(seconds=8), soft_close_window=timedelta(0))
    market.deposit(alice, auction)
    market.deposit(bob, auction)
    services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    notifications.watch_set(user=alice, auction=auction, notify_ending_soon=False)
    connections.close_all()
    page = logged_in(browser, live_server_url, "alice@buyers.example.com")
    page.goto(f"{live_server_url}/auctions/mine/")
    row = page.locator(f'tr[data-auction="{auction.pk}"]')
    expect(row.locator(".leading")).to_have_text("you")

    services.bid_place(user=bob, auction_id=auction.pk, amount="10500.00")
    expect(row.locator(".price")).to_have_text("10500.00 CNY")  # live, no reload
    expect(row.locator(".leading")).to_have_text("—")
    time.sleep(max(0.0, (auction.closes_at - timezone.now()).total_seconds()) + 0.1)
    assert services.auction_close(auction_id=auction.pk)
    expect(row.locator(".status")).to_contain_text("Closed: sold")
    page.screenshot(path=str(artifacts / "my-auctions-closed.png"), full_page=True)
