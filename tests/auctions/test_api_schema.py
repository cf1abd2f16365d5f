"""The OpenAPI document describes the auction API's answers as the API gives them (auctions/api/schema.py)."""

import pytest
from rest_framework.test import APIClient

from auctions import selectors
from tests.openapi import answer, properties

pytestmark = pytest.mark.django_db


def test_documented_shapes_are_the_shapes_answered(market):
    auction = market.auction()
    alice = market.buyer("alice", deposit_on=auction)
    client = APIClient()
    client.force_authenticate(alice)
    outcome = client.post(f"/api/v1/auctions/{auction.pk}/bids/", {"amount": "10000.00"}, format="json").json()
    assert set(outcome) == properties("BidOutcome")
    assert set(outcome["auction"]) == properties("Snapshot") == set(selectors.snapshot(auction=auction))
    assert set(outcome["bid"]) == properties("LedgerEntry")
    mine = client.get("/api/v1/me/bids/").json()
    assert set(mine) == properties("MyBidPage") and set(mine["results"][0]) == properties("MyBid")
    refusals = [client.post(f"/api/v1/auctions/{auction.pk}/bids/", {"amount": "1.00"}, format="json").json()]
    refusals.append(client.get("/api/v1/auctions/?ending_before=soon").json())
    assert [refusal["code"] for refusal in refusals] == ["too_low", "invalid"]
    assert all(set(refusal) <= properties("Error") for refusal in refusals), refusals
    events = client.get(f"/api/v1/auctions/{auction.pk}/events/").json()
    assert set(events) == properties("Events")
    assert {"type", "seq"} <= set(events["events"][-1]) and properties("Event") == {"type", "seq"}


def test_each_auction_endpoint_names_its_answer_and_its_errors():
    auction, bids = "/api/v1/auctions/{id}/", "/api/v1/auctions/{id}/bids/"
    assert answer("/api/v1/auctions/", "get", 200) == "AuctionPage"
    assert answer(auction, "get", 200) == "Snapshot"
    assert answer(bids, "get", 200) == "Ledger"
    assert answer(bids, "post", 201) == "BidOutcome"
    assert answer("/api/v1/auctions/{id}/proxy-bid/", "put", 200) == "BidOutcome"
    for status in (400, 402, 403, 409, 429):
        assert answer(bids, "post", status) == "Error"
    assert {"code", "message", "field", "fields", "min_next_bid", "deposit_amount", "action_url"} <= properties("Error")
