"""The OpenAPI document describes the account API's answers as the API gives them."""

import pytest
from rest_framework.test import APIClient

from tests.openapi import answer, properties

pytestmark = pytest.mark.django_db


def test_the_kyc_state_is_documented_as_answered(market):
    buyer = market.buyer("gail")
    client = APIClient()
    client.force_authenticate(buyer)
    body = client.get("/api/v1/me/kyc/").json()
    assert answer("/api/v1/me/kyc/", "get", 200) == "KycState"
    assert set(body) == properties("KycState") and body["status"] == "approved"
