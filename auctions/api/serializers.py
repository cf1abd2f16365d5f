"""Input shapes for the auction API (money stays a string: the services parse it strictly)."""

from datetime import timedelta
from typing import Any

from rest_framework import serializers

from auctions.models import Auction
from portfolios.models import Portfolio


class AuctionCreateSerializer(serializers.Serializer[Any]):
    portfolio = serializers.PrimaryKeyRelatedField(queryset=Portfolio.objects.all())
    format = serializers.ChoiceField(choices=Auction.Format.choices, default=Auction.Format.ENGLISH)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    starting_price = serializers.CharField(max_length=20)
    reserve_price = serializers.CharField(max_length=20, required=False)
    increment = serializers.CharField(max_length=20, required=False)
    increment_table = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(max_length=20), min_length=2, max_length=2),
        required=False,
        max_length=50,
    )
    deposit_amount = serializers.CharField(max_length=20, required=False)
    soft_close_window_seconds = serializers.IntegerField(min_value=0, max_value=3600, default=300)
    soft_close_extension_seconds = serializers.IntegerField(min_value=0, max_value=3600, default=300)

    def to_service(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data["soft_close_window"] = timedelta(seconds=data.pop("soft_close_window_seconds"))
        data["soft_close_extension"] = timedelta(seconds=data.pop("soft_close_extension_seconds"))
        data.pop("portfolio")
        return data


class RelistSerializer(AuctionCreateSerializer):
    portfolio = None  # type: ignore[assignment]

    def to_service(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data["soft_close_window"] = timedelta(seconds=data.pop("soft_close_window_seconds"))
        data["soft_close_extension"] = timedelta(seconds=data.pop("soft_close_extension_seconds"))
        return data


class BidSerializer(serializers.Serializer[Any]):
    """For the schema only: the view hands the raw value to `bid_place`, so a number is refused, not coerced."""

    amount = serializers.CharField(help_text='A string with at most two decimals, e.g. "125000.00".')


class ProxyBidSerializer(serializers.Serializer[Any]):
    max_amount = serializers.CharField(help_text="Your maximum; the system bids the least needed to lead, up to it.")
