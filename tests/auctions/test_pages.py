"""The auction pages: a read-only room for anyone, the reason a buyer cannot bid, and a working HTTP bid form."""

import pytest

from auctions.models import Bid

pytestmark = pytest.mark.django_db


def test_anyone_may_watch_and_is_told_to_sign_in_to_bid(client, market):
    auction = market.auction(market.portfolio(title="<script>alert(1)</script> Loans"))
    page = client.get(f"/auctions/{auction.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'id="bid-blocker" data-code="login_required"' in html and 'id="bid-button" disabled' in html
    listing = client.get("/auctions/").content.decode()
    assert f"/auctions/{auction.pk}/" in listing


def test_the_blocker_names_the_next_step(client, market):
    auction = market.auction()
    retail = market.buyer("retail", investor="retail", suitability="reflection")
    client.force_login(retail)
    html = client.get(f"/auctions/{auction.pk}/").content.decode()
    assert 'data-code="suitability_required"' in html and "reflection period ends" in html


def test_an_eligible_buyer_bids_through_the_form_and_a_double_submit_counts_once(client, market):
    auction = market.auction()
    buyer = market.buyer("buyer", deposit_on=auction)
    client.force_login(buyer)
    html = client.get(f"/auctions/{auction.pk}/").content.decode()
    assert "bid-blocker" not in html and 'value="10000.00"' in html
    form = {"amount": "10000.00", "request_id": "5b0f7c1e-double"}
    first = client.post(f"/auctions/{auction.pk}/bid/", form, follow=True)
    client.post(f"/auctions/{auction.pk}/bid/", form)
    assert "you are leading" in first.content.decode()
    assert Bid.objects.filter(auction=auction).count() == 1
    low = client.post(f"/auctions/{auction.pk}/bid/", {"amount": "5", "request_id": "x2"}, follow=True)
    assert "must be at least 10100.00 CNY" in low.content.decode()


def test_the_bid_form_needs_a_signed_in_user_and_csrf(client, market):
    from django.test import Client

    auction = market.auction()
    response = client.post(f"/auctions/{auction.pk}/bid/", {"amount": "10000.00"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(market.buyer("buyer", deposit_on=auction))
    assert strict.post(f"/auctions/{auction.pk}/bid/", {"amount": "10000.00"}).status_code == 403
    assert not Bid.objects.exists()


def test_demo_auctions_are_idempotent_and_show_a_live_market(settings, tmp_path, risk_warning, client):
    from django.core.management import call_command

    from auctions.models import Auction
    from payments.models import Deposit

    settings.PRIVATE_MEDIA_ROOT = str(tmp_path)
    call_command("demo_data")
    call_command("demo_auctions")
    counts = (Auction.objects.count(), Bid.objects.count(), Deposit.objects.count())
    call_command("demo_auctions")
    assert (Auction.objects.count(), Bid.objects.count(), Deposit.objects.count()) == counts
    assert Auction.objects.filter(status="live").count() == 4
    small = Auction.objects.get(portfolio__title__startswith="Ningbo")
    assert (small.leader.email, small.bid_count, small.current_price) == ("buyer@pearl-bay.example.com", 2, 50500)
    client.login(email="li.wei@example.com", password="demo-pass-2026")
    html = client.get(f"/auctions/{small.pk}/").content.decode()
    assert "bid-blocker" not in html and "Bidder 1" in html
    consumer = Auction.objects.get(portfolio__title__startswith="Hangzhou credit")
    assert 'data-code="professional_only"' in client.get(f"/auctions/{consumer.pk}/").content.decode()


def test_the_seller_schedules_an_auction_from_a_page_and_errors_land_on_fields(client, market):
    from auctions.models import Auction

    portfolio = market.portfolio()
    client.force_login(market.trader)
    url = f"/auctions/new/{portfolio.pk}/"
    form = {
        "format": "english",
        "starts_at": "2030-01-01T09:00",
        "ends_at": "2030-01-03T09:00",
        "starting_price": "300000.00",
        "reserve_price": "200000.00",
        "soft_close_minutes": "5",
    }
    bad = client.post(url, form)
    assert bad.status_code == 200 and "reserve cannot be below" in bad.content.decode()
    assert not Auction.objects.exists()
    done = client.post(url, {**form, "reserve_price": "350000.00"})
    auction = Auction.objects.get()
    assert done["Location"] == f"/auctions/{auction.pk}/"
    assert (auction.deposit_amount, auction.increment, auction.reserve_price) == (30000, 3000, 350000)
    client.force_login(market.buyer("outsider"))
    other = market.portfolio()
    refused = client.post(f"/auctions/new/{other.pk}/", {**form, "reserve_price": ""})
    assert "owners and traders" in refused.content.decode()


def test_the_price_chart_starts_from_the_standing_bids_and_hides_while_sealed(client, market, django_user_model):
    from auctions import services

    auction = market.auction()
    alice, bob = market.buyer("alice", deposit_on=auction), market.buyer("bob", deposit_on=auction)
    services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    services.bid_place(user=bob, auction_id=auction.pk, amount="10100.00")
    staff = django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    services.bid_void(bid=Bid.objects.get(bidder=bob), actor=staff, reason="shill bidding")
    page = client.get(f"/auctions/{auction.pk}/")
    points = page.context["price_points"]
    assert [point["amount"] for point in points] == ["10000.00"]
    assert 'id="price-points"' in page.content.decode() and 'id="price-chart"' in page.content.decode()

    sealed = market.auction(market.portfolio(), format="sealed")
    html = client.get(f"/auctions/{sealed.pk}/").content.decode()
    assert 'id="price-chart"' not in html and 'id="price-points"' not in html
