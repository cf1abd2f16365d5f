"""In Chromium: after the winner defaults, the runner-up is told, finds the offer on the payments page, accepts it
and pays the balance by card; the auction ends settled in their name."""

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Browser, expect

from auctions import services as auction_services
from auctions.models import Auction
from payments import services
from payments.models import RunnerUpOffer, Settlement
from tests.e2e.test_auction_room_browser import logged_in
from tests.payments.e2e.test_deposit_browser import enter_card

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_runner_up_accepts_the_offer_and_pays_in_the_browser(
    stripe_env, browser: Browser, live_server_url, market, artifacts
):
    auction = market.auction(starting_price="10000.00", deposit_amount="1000.00")
    alice, bob = market.buyer("alice"), market.buyer("bob")
    for buyer in (alice, bob):
        services.deposit_hold(user=buyer, auction_id=auction.pk, payment_method="pm_card_visa")
    auction_services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    auction_services.bid_place(user=bob, auction_id=auction.pk, amount="12000.00")
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(closes_at=now, ends_at=now)
    assert auction_services.auction_close(auction_id=auction.pk)  # payments take over (eager here)
    won = Settlement.objects.get()
    Settlement.objects.filter(pk=won.pk).update(due_at=now - timedelta(seconds=1))  # bob never pays
    services.settlement_default(settlement_id=won.pk)
    offer = RunnerUpOffer.objects.get()
    connections.close_all()

    page = logged_in(browser, live_server_url, "alice@buyers.example.com")
    page.locator("#nav-notifications").click()  # outbid, lost, then the offer
    expect(page.locator("main")).to_contain_text("did not pay. You may buy it at your own last bid of 10000.00 CNY")
    page.get_by_role("link", name="Payments").click()
    card = page.locator(f'[data-offer="{offer.pk}"]')
    expect(card).to_contain_text("your own last bid of 10000.00 CNY")
    page.get_by_role("button", name="Accept and buy at 10000.00 CNY").click()  # straight on to paying
    expect(page.locator("#balance-due")).to_have_text("10200.00 CNY")  # 10,000 + 2 % premium
    expect(page.locator("dl")).to_contain_text("Deposit appliednone")  # theirs was released at the close
    enter_card(page, "4242424242424242", button="Pay by card")
    expect(page.locator("#payment-status")).to_have_text("paid")
    page.screenshot(path=str(artifacts / "runner-up-paid.png"), full_page=True)
    page.get_by_role("link", name="Payments").click()
    expect(page.locator(f'[data-offer="{offer.pk}"]')).to_have_attribute("data-status", "accepted")

    bought = Settlement.objects.exclude(pk=won.pk).get()
    assert (bought.buyer, bought.status, bought.hammer_price) == (alice, "paid", 10000)
    assert Auction.objects.get(pk=auction.pk).status == "settled"
