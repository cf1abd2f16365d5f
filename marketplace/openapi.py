"""Shapes every app's OpenAPI description shares: the error body, money, and a page of results.

For the document only: views build their bodies themselves, and each app's test_api_schema holds the two equal.
"""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


def money(help_text: str = "", **options: Any) -> serializers.CharField:
    """Money: a string with two decimals, e.g. "125000.00" (the currency is a field beside it)."""
    return serializers.CharField(
        help_text=help_text or 'Money: a string with two decimals, e.g. "125000.00".', **options
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """Every refusal (marketplace.api renders it); the extra fields come with the codes that need them."""

    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The input at fault (validation errors).")
    min_next_bid = money("With too_low.", required=False)
    deposit_amount = money("With deposit_required.", required=False)
    action_url = serializers.CharField(required=False, help_text="Where to put it right (kyc_required, ...).")
    retry_after = serializers.IntegerField(required=False, allow_null=True, help_text="Seconds, with rate_limited.")


# `fields` is also the name of Serializer's own attribute, so this one is declared from outside the class body.
ErrorSerializer._declared_fields["fields"] = serializers.DictField(
    child=serializers.ListField(child=serializers.CharField()),
    required=False,
    help_text="Every input at fault and what is wrong with it (validation errors).",
)

ERRORS = {status: OpenApiResponse(ErrorSerializer) for status in (400, 401, 402, 403, 404, 409, 413, 429)}


class _Page(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


def page_of(item: type[serializers.Serializer[Any]], name: str) -> type[serializers.Serializer[Any]]:
    """A page (PageNumberPagination's body) of `item`s, named `name` in the document."""
    return type(f"{name}Serializer", (_Page,), {"results": item(many=True)})
