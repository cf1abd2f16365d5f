"""The auction REST contract: snapshot, ledger, bids with their error codes, proxy bids, events, setup."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from auctions.api import views as api_views
from auctions.models import Auction, AuctionEvent, Bid

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot(market):
    return market.auction(reserve_price="15000.00")


@pytest.fixture
def alice(market, lot):
    return market.buyer("alice", deposit_on=lot)


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def bid(client, auction_id, body, **headers):
    return client.post(
        f"/api/v1/auctions/{auction_id}/bids/",
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_snapshot_has_the_contract_fields_and_never_the_reserve(lot):
    response = client_for().get(f"/api/v1/auctions/{lot.pk}/")
    assert response.status_code == 200
    body = response.json()
    for field in ("status", "format", "current_price", "min_next_bid", "bid_count", "closes_at", "server_time", "seq"):
        assert field in body
    assert body["reserve_met"] is False and body["deposit_amount"] == "1000.00"
    assert body["server_time"].endswith("Z") and body["min_next_bid"] == "10000.00"
    assert "15000" not in response.content.decode()


def test_a_bid_returns_201_with_the_bid_and_the_new_snapshot(lot, alice):
    response = bid(client_for(alice), lot.pk, {"amount": "10000.00"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["bid"]["amount"] == "10000.00" and body["bid"]["bidder"] == "Bidder 1"
    assert body["auction"]["leading"] is True and body["auction"]["current_price"] == "10000.00"
    assert body["auction"]["deposit_status"] == "held"
    ledger = client_for().get(f"/api/v1/auctions/{lot.pk}/bids/").json()["results"]
    assert [(b["seq"], b["amount"], b["bidder"], b["kind"]) for b in ledger] == [(2, "10000.00", "Bidder 1", "manual")]
    assert "alice" not in json.dumps(ledger)


def test_a_bid_answered_by_a_proxy_responds_as_a_fresh_read_would(market, lot, alice):
    """The response is made from the bid's own locked row and seats, without reading again: it must equal what the
    API reads afterwards (both ledger entries, the leader, the viewer's position), and a replay reads it all again."""
    bob = market.buyer("bob", deposit_on=lot)
    client_for(alice).put(f"/api/v1/auctions/{lot.pk}/proxy-bid/", data={"max_amount": "20000.00"}, format="json")
    response = bid(client_for(bob), lot.pk, {"amount": "12000.00"}, **{"Idempotency-Key": "k-1"})
    assert response.status_code == 201, response.json()
    body = response.json()
    ledger = client_for().get(f"/api/v1/auctions/{lot.pk}/bids/").json()["results"]
    assert body["bids"] == ledger[-2:] and [b["kind"] for b in body["bids"]] == ["manual", "proxy"]
    fresh = client_for(bob).get(f"/api/v1/auctions/{lot.pk}/").json()
    assert {**body["auction"], "server_time": None} == {**fresh, "server_time": None}
    assert fresh["leader"] == "Bidder 1" and fresh["your_alias"] == "Bidder 2" and fresh["deposit_status"] == "held"
    replay = bid(client_for(bob), lot.pk, {"amount": "12000.00"}, **{"Idempotency-Key": "k-1"}).json()
    assert replay["replayed"] is True and replay["bid"] == body["bid"]
    assert {**replay["auction"], "server_time": None} == {**fresh, "server_time": None}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": "-1"}, 400, "invalid_amount"),
        ({"amount": "1e9999"}, 400, "invalid_amount"),
        ({"amount": "12.345"}, 400, "invalid_amount"),
        ({"amount": "NaN"}, 400, "invalid_amount"),
        ({"amount": "Infinity"}, 400, "invalid_amount"),
        ({"amount": ""}, 400, "invalid_amount"),
        ({"amount": 10000}, 400, "invalid_amount"),
        ({"amount": 10000.5}, 400, "invalid_amount"),
        ({"amount": None}, 400, "invalid_amount"),
        ({}, 400, "invalid_amount"),
        ({"amount": "1,000.00"}, 400, "invalid_amount"),
        ({"amount": "99999999999999999999.00"}, 400, "invalid_amount"),
        ({"amount": "9999.99"}, 409, "too_low"),
        ("[1, 2]", 400, "invalid"),
        ("{not json", 400, "parse_error"),
        ({"amount": "10000.00", "padding": "x" * 5000}, 413, "payload_too_large"),
    ],
)
def test_bad_bids_are_4xx_with_the_right_code_and_write_nothing(lot, alice, body, status, code):
    response = bid(client_for(alice), lot.pk, body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.json()["message"]
    assert not Bid.objects.exists() and not AuctionEvent.objects.filter(kind="bid").exists()


def test_too_low_carries_the_minimum(lot, alice):
    response = bid(client_for(alice), lot.pk, {"amount": "9999.99"})
    assert response.json()["min_next_bid"] == "10000.00"


def test_unknown_auction_closed_auction_and_anonymous_bids(lot, alice):
    assert bid(client_for(alice), 999999, {"amount": "10000.00"}).json()["code"] == "not_found"
    assert bid(client_for(), lot.pk, {"amount": "10000.00"}).status_code in (401, 403)
    now = timezone.now()
    Auction.objects.filter(pk=lot.pk).update(closes_at=now, ends_at=now)
    response = bid(client_for(alice), lot.pk, {"amount": "10000.00"})
    assert (response.status_code, response.json()["code"]) == (409, "auction_closed")
    assert not Bid.objects.exists()


def test_buyer_refusals_carry_their_status_and_what_the_client_needs(market, lot, settings):
    """The codes the buyer-protection and deposit checks raise, as a client meets them through the API."""
    no_deposit, no_kyc = market.buyer("dan"), market.buyer("erin", kyc=None, deposit_on=lot)
    retail = market.buyer("fay", investor="retail", suitability="risk_warning", deposit_on=lot)
    cases = [
        (no_deposit, 402, "deposit_required", {"deposit_amount": "1000.00"}),
        (no_kyc, 403, "kyc_required", {"action_url": "/accounts/verification/"}),
        (retail, 403, "suitability_required", {"action_url": "/accounts/suitability/"}),
    ]
    for buyer, status_code, code, extra in cases:
        response = bid(client_for(buyer), lot.pk, {"amount": "10000.00"})
        body = response.json()
        assert (response.status_code, body["code"]) == (status_code, code), body
        assert {name: body.get(name) for name in extra} == extra and body["message"]
    settings.BID_RATE_LIMIT = 2
    alice = market.buyer("alice", deposit_on=lot)
    statuses = [bid(client_for(alice), lot.pk, {"amount": "1.00"}).status_code for _ in range(3)]
    refused = bid(client_for(alice), lot.pk, {"amount": "1.00"}).json()
    assert statuses == [409, 409, 429] and refused["code"] == "rate_limited"
    assert not Bid.objects.exists()


def test_a_replayed_idempotency_key_returns_the_first_result(lot, alice):
    client = client_for(alice)
    first = bid(client, lot.pk, {"amount": "10000.00"}, **{"Idempotency-Key": "3f1c"})
    again = bid(client, lot.pk, {"amount": "10000.00"}, **{"Idempotency-Key": "3f1c"})
    assert first.status_code == again.status_code == 201
    assert first.json()["bid"] == again.json()["bid"] and again.json()["replayed"] is True
    assert Bid.objects.count() == 1


def test_a_replayed_sealed_bid_is_recognised_even_after_a_raise(market):
    """A sealed bid writes no ledger entry until the close: its key and amount are kept on the bidder's seat."""
    auction = market.auction(format="sealed", starting_price="5000.00")
    carol = market.buyer("carol", deposit_on=auction)
    client = client_for(carol)
    first = bid(client, auction.pk, {"amount": "6000.00"}, **{"Idempotency-Key": "s-1"})
    again = bid(client, auction.pk, {"amount": "6000.00"}, **{"Idempotency-Key": "s-1"})
    assert first.status_code == again.status_code == 201, again.json()
    assert (first.json()["replayed"], again.json()["replayed"]) == (False, True)
    assert again.json()["bid"] is None and again.json()["auction"]["your_sealed_bid"] == "6000.00"
    raised = bid(client, auction.pk, {"amount": "7000.00"}, **{"Idempotency-Key": "s-2"})
    late_replay = bid(client, auction.pk, {"amount": "6000.00"}, **{"Idempotency-Key": "s-1"})
    assert (raised.status_code, late_replay.status_code) == (201, 201), late_replay.json()
    assert late_replay.json()["replayed"] is True  # changes nothing: the standing bid is still the raise
    assert late_replay.json()["auction"]["your_sealed_bid"] == "7000.00"
    seat = auction.participants.get(user=carol)
    assert (seat.sealed_amount, seat.sealed_requests) == (Decimal("7000.00"), {"s-1": "6000.00", "s-2": "7000.00"})
    unkeyed = bid(client, auction.pk, {"amount": "7000.00"})  # no key: a new bid, which must raise
    assert (unkeyed.status_code, unkeyed.json()["code"]) == (409, "too_low")


def test_an_old_key_with_another_amount_is_refused_not_taken_for_a_repeat(market, lot, alice):
    sealed = market.auction(format="sealed", starting_price="5000.00")
    dora = market.buyer("dora", deposit_on=sealed)
    for client, auction, amount, other in [
        (client_for(alice), lot, "10000.00", "10500.00"),
        (client_for(dora), sealed, "6000.00", "8000.00"),
    ]:
        assert bid(client, auction.pk, {"amount": amount}, **{"Idempotency-Key": "form-1"}).status_code == 201
        reused = bid(client, auction.pk, {"amount": other}, **{"Idempotency-Key": "form-1"})
        assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
        assert amount in reused.json()["message"]
    assert [b.amount for b in Bid.objects.all()] == [Decimal("10000.00")]
    assert sealed.participants.get(user=dora).sealed_amount == Decimal("6000.00")


def test_proxy_bid_and_events_since_seq(market, lot, alice, monkeypatch):
    bob = market.buyer("bob", deposit_on=lot)
    response = client_for(alice).put(
        f"/api/v1/auctions/{lot.pk}/proxy-bid/", data={"max_amount": "20000.00"}, format="json"
    )
    assert response.status_code == 200 and response.json()["auction"]["your_proxy_max"] == "20000.00"
    bid(client_for(bob), lot.pk, {"amount": "12000.00"})
    events = client_for().get(f"/api/v1/auctions/{lot.pk}/events/?since_seq=1").json()["events"]
    assert [e["seq"] for e in events] == [2, 3, 4]
    assert [(e["type"], e["amount"], e["kind"]) for e in events] == [
        ("bid", "10000.00", "proxy"),
        ("bid", "12000.00", "manual"),
        ("bid", "12100.00", "proxy"),
    ]
    monkeypatch.setattr(api_views, "EVENT_PAGE", 2)
    first = client_for().get(f"/api/v1/auctions/{lot.pk}/events/?since_seq=1").json()
    rest = client_for().get(f"/api/v1/auctions/{lot.pk}/events/?since_seq={first['events'][-1]['seq']}").json()
    assert [e["seq"] for e in first["events"]] == [2, 3] and first["has_more"] is True
    assert [e["seq"] for e in rest["events"]] == [4] and rest["has_more"] is False
    snapshot = client_for(bob).get(f"/api/v1/auctions/{lot.pk}/").json()
    assert snapshot["leading"] is False and snapshot["leader"] == "Bidder 1" and snapshot["reserve_met"] is False
    for bad in ("x", "%C2%B2"):  # "²" passes str.isdigit but not int()
        assert client_for().get(f"/api/v1/auctions/{lot.pk}/events/?since_seq={bad}").status_code == 400


def test_the_seller_sets_up_an_auction_and_bad_setups_name_the_field(market):
    portfolio = market.portfolio()
    now = timezone.now()
    good = {
        "portfolio": portfolio.pk,
        "starts_at": (now + timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "starting_price": "500000.00",
        "reserve_price": "600000.00",
    }
    client = client_for(market.trader)
    for change, field in [
        ({"ends_at": now.isoformat()}, "ends_at"),
        ({"reserve_price": "400000.00"}, "reserve_price"),
        ({"deposit_amount": "100000.01"}, "deposit_amount"),
        ({"starting_price": "-5"}, "starting_price"),
        ({"increment_table": [["x", "1"]]}, "increment_table"),
    ]:
        response = client.post("/api/v1/auctions/", data={**good, **change}, format="json")
        assert (response.status_code, response.json()["field"]) == (400, field), change
    response = client.post("/api/v1/auctions/", data=good, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["deposit_amount"], body["status"], body["min_next_bid"]) == ("50000.00", "scheduled", "500000.00")
    again = client.post("/api/v1/auctions/", data=good, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "portfolio_not_approved")
    stranger = market.buyer("stranger")
    other = market.portfolio()
    response = client_for(stranger).post("/api/v1/auctions/", data={**good, "portfolio": other.pk}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "not_seller_member")


def test_list_filters(market):
    english = market.auction()
    sealed = market.auction(format="sealed")
    ids = lambda query: [a["id"] for a in client_for().get(f"/api/v1/auctions/?{query}").json()["results"]]  # noqa: E731
    assert ids("format=sealed") == [sealed.pk]
    assert set(ids("status=scheduled")) == {english.pk, sealed.pk}
    assert ids("status=closed") == []
    Auction.objects.filter(pk=sealed.pk).update(closes_at=english.closes_at + timedelta(hours=1))
    soon = (english.closes_at + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"ending_before={soon}") == [english.pk]
    bad = [("/api/v1/auctions/?ending_before=next-week", "ending_before")]
    bad += [(f"/api/v1/auctions/{english.pk}/events/?since_seq=-1", "since_seq")]
    for url, field in bad:
        refused = client_for().get(url)
        assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (400, "invalid", field)


def test_staff_cancel_and_void_in_admin_with_a_reason(client, market, lot, alice, make_user):
    bob = market.buyer("bob", deposit_on=lot)
    bid(client_for(alice), lot.pk, {"amount": "10000.00"})
    bid(client_for(bob), lot.pk, {"amount": "11000.00"})
    staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    top = Bid.objects.get(amount="11000.00")
    asked = client.post("/admin/auctions/bid/", {"action": "void_bid", "_selected_action": [top.pk]})
    assert b"reason" in asked.content and not hasattr(Bid.objects.get(pk=top.pk), "void")
    client.post(
        "/admin/auctions/bid/",
        {"action": "void_bid", "_selected_action": [top.pk], "apply": "1", "reason": "bidder is the seller's cousin"},
    )
    lot.refresh_from_db()
    assert (lot.current_price, lot.leader) == (Decimal("10000.00"), alice)
    assert Bid.objects.get(pk=top.pk).void.reason == "bidder is the seller's cousin"
    client.post(
        "/admin/auctions/auction/",
        {"action": "cancel_auction", "_selected_action": [lot.pk], "apply": "1", "reason": "tape was wrong"},
    )
    lot.refresh_from_db()
    assert (lot.status, lot.cancel_reason) == ("cancelled", "tape was wrong")
    page = client.get(f"/admin/auctions/auction/{lot.pk}/change/")
    assert page.status_code == 200 and b"cancelled" in page.content


def test_staff_schedule_an_auction_in_admin_through_the_setup_service(client, market, make_user):
    from django.contrib.auth.models import Permission

    portfolio = market.portfolio(title="Admin-scheduled loans")
    viewer = make_user("viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_auction"))
    client.force_login(viewer)
    assert client.get("/admin/auctions/auction/add/").status_code == 403  # may look, may not schedule

    staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    form = client.get("/admin/auctions/auction/add/").content.decode()
    assert "Admin-scheduled loans" in form and 'name="starting_price"' in form
    now = timezone.now()
    data = {
        "portfolio": portfolio.pk,
        "format": "english",
        "starts_at": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        "ends_at": now.strftime("%Y-%m-%d %H:%M"),  # before the start: the service's objections land on the fields
        "starting_price": "50000.00",
        "reserve_price": "40000.00",
        "soft_close_minutes": 5,
    }
    refused = client.post("/admin/auctions/auction/add/", data).content.decode()
    assert "The auction must end after it starts." in refused and "reserve cannot be below" in refused
    assert not Auction.objects.exists()
    data |= {"ends_at": (now + timedelta(days=2)).strftime("%Y-%m-%d %H:%M"), "reserve_price": "60000.00"}
    done = client.post("/admin/auctions/auction/add/", data)
    auction = Auction.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/admin/auctions/auction/{auction.pk}/change/"
    assert (auction.portfolio, auction.starting_price, auction.deposit_amount) == (
        portfolio,
        Decimal("50000.00"),
        Decimal("5000.00"),
    )
    portfolio.refresh_from_db()
    assert portfolio.status == "in_auction"
    again = client.post("/admin/auctions/auction/add/", data).content.decode()
    assert "Select a valid choice" in again  # no longer an approved portfolio


def test_the_api_throttles_each_user_to_their_rate(lot, alice, market, monkeypatch):
    from django.core.cache import cache

    from marketplace.ratelimit import UserThrottle

    monkeypatch.setattr(UserThrottle, "THROTTLE_RATES", {**UserThrottle.THROTTLE_RATES, "user": "3/min"})
    client, other = client_for(alice), client_for(market.buyer("bob"))
    responses = [client.get(f"/api/v1/auctions/{lot.pk}/") for _ in range(4)]
    assert [response.status_code for response in responses] == [200, 200, 200, 429]
    assert 0 < int(responses[-1].headers["Retry-After"]) <= 60  # the rest of the minute's window
    assert other.get(f"/api/v1/auctions/{lot.pk}/").status_code == 200  # per user
    assert cache.get(f"throttle_user_{alice.pk}") == 4  # one counter, where DRF's own cache would keep its history
