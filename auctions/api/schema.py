"""What the auction API answers, for the OpenAPI document only: the views build their bodies from
auctions.selectors (snapshot, ledger_entry, event payloads); tests/auctions/test_api_schema.py holds the two equal.
The errors' shape is marketplace.openapi's."""

from typing import Any

from rest_framework import serializers

from auctions.models import Auction, AuctionEvent, Bid
from marketplace.openapi import money, page_of


class SnapshotSerializer(serializers.Serializer[Any]):
    """The auction as every client sees it; while a sealed auction runs, prices, count and leader are null."""

    id = serializers.IntegerField()
    portfolio = serializers.IntegerField()
    title = serializers.CharField()
    format = serializers.ChoiceField(choices=Auction.Format.choices)
    round = serializers.IntegerField(help_text="1 for a first auction; a relisted lot's next round is one more.")
    status = serializers.ChoiceField(choices=Auction.Status.choices)
    result = serializers.ChoiceField(choices=Auction.Result.choices, allow_null=True)
    currency = serializers.CharField(help_text="ISO 4217, the portfolio's.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="The scheduled end.")
    closes_at = serializers.DateTimeField(help_text="The end after soft-close extensions: bids count until then.")
    server_time = serializers.DateTimeField(help_text="The server clock, which alone decides whether a bid is late.")
    seq = serializers.IntegerField(help_text="The auction's last event; each event adds exactly one.")
    starting_price = money()
    current_price = money(allow_null=True)
    min_next_bid = money(allow_null=True)
    bid_count = serializers.IntegerField(allow_null=True)
    leader = serializers.CharField(allow_null=True, help_text='The leader\'s alias, e.g. "Bidder 3".')
    reserve_met = serializers.BooleanField(allow_null=True, help_text="Never the reserve itself.")
    final_price = money(allow_null=True)
    deposit_amount = money()
    soft_close_window_seconds = serializers.IntegerField()
    soft_close_extension_seconds = serializers.IntegerField()
    deposit_status = serializers.CharField(allow_null=True, help_text="Yours: null signed out or with no deposit.")
    leading = serializers.BooleanField(help_text="Whether you lead.")
    your_alias = serializers.CharField(allow_null=True)
    your_proxy_max = money(allow_null=True)
    your_sealed_bid = money(allow_null=True)


class LedgerEntrySerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField()
    amount = money()
    bidder = serializers.CharField(help_text='A per-auction alias, e.g. "Bidder 3".')
    kind = serializers.ChoiceField(choices=Bid.Kind.choices)
    placed_at = serializers.DateTimeField()
    voided = serializers.BooleanField(help_text="Voided by staff: it no longer counts.")


class MyBidSerializer(LedgerEntrySerializer):
    auction = serializers.IntegerField()


AuctionPageSerializer = page_of(SnapshotSerializer, "AuctionPage")
MyBidPageSerializer = page_of(MyBidSerializer, "MyBidPage")


class LedgerSerializer(serializers.Serializer[Any]):
    auction = serializers.IntegerField()
    results = LedgerEntrySerializer(many=True)


class BidOutcomeSerializer(serializers.Serializer[Any]):
    bid = LedgerEntrySerializer(allow_null=True, help_text="Your entry; null for a sealed bid (hidden until close).")
    bids = LedgerEntrySerializer(many=True, help_text="Every entry the request caused: a proxy's answer too.")
    replayed = serializers.BooleanField(help_text="A repeated Idempotency-Key: the first result, nothing changed.")
    auction = SnapshotSerializer()


class EventSerializer(serializers.Serializer[Any]):
    """An event as the WebSocket broadcast it; `type` says which other fields it has (see API.md)."""

    type = serializers.ChoiceField(choices=AuctionEvent.Kind.choices)
    seq = serializers.IntegerField()


class EventsSerializer(serializers.Serializer[Any]):
    auction = serializers.IntegerField()
    seq = serializers.IntegerField(help_text="The auction's last event now.")
    events = EventSerializer(many=True, help_text="At most 1000.")
    has_more = serializers.BooleanField(help_text="More follow: ask again from the last one's seq.")
