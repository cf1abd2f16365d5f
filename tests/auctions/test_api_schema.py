"""The OpenAPI document describes the auction API's answers as the API gives them (auctions/api/schema.py)."""

import json

import pytest
from rest_framework.test import APIClient

from auctions import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        body = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
    return json.loads(body)


def properties(document, name):
    return set(document["components"]["schemas"][name]["properties"])


def response_schema(document, path, method, status):
    content = document["paths"][path][method]["responses"][str(status)]["content"]
    return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


def test_documented_shapes_are_the_shapes_answered(document, market):
    auction = market.auction()
    alice = market.buyer("alice", deposit_on=auction)
    client = APIClient()
    client.force_authenticate(alice)
    outcome = client.post(f"/api/v1/auctions/{auction.pk}/bids/", {"amount": "10000.00"}, format="json").json()
    assert set(outcome) == properties(document, "BidOutcome")
    assert set(outcome["auction"]) == properties(document, "Snapshot") == set(selectors.snapshot(auction=auction))
    assert set(outcome["bid"]) == properties(document, "LedgerEntry")
    mine = client.get("/api/v1/me/bids/").json()
    assert set(mine) == properties(document, "MyBidPage") and set(mine["results"][0]) == properties(document, "MyBid")
    events = client.get(f"/api/v1/auctions/{auction.pk}/events/").json()
    assert set(events) == properties(document, "Events")
    assert {"type", "seq"} <= set(events["events"][-1]) and properties(document, "Event") == {"type", "seq"}


def test_each_auction_endpoint_names_its_answer_and_its_errors(document):
    auction, bids = "/api/v1/auctions/{id}/", "/api/v1/auctions/{id}/bids/"
    assert response_schema(document, "/api/v1/auctions/", "get", 200) == "AuctionPage"
    assert response_schema(document, auction, "get", 200) == "Snapshot"
    assert response_schema(document, bids, "get", 200) == "Ledger"
    assert response_schema(document, bids, "post", 201) == "BidOutcome"
    assert response_schema(document, "/api/v1/auctions/{id}/proxy-bid/", "put", 200) == "BidOutcome"
    for status in (400, 402, 403, 409, 429):
        assert response_schema(document, bids, "post", status) == "Error"
    assert "min_next_bid" in properties(document, "Error")
