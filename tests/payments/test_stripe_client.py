"""Money crosses into Stripe's integers in one place, exactly, and never as a float."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from payments.stripe_client import from_minor_units, minor_units, round_to_currency


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("125000.00", "CNY", 12500000),
        ("0.01", "USD", 1),
        ("19.99", "usd", 1999),
        ("500.00", "JPY", 500),
        ("9999999999999999.99", "CNY", 999999999999999999),
    ],
)
def test_minor_units_round_trip(amount, currency, units):
    assert minor_units(Decimal(amount), currency) == units
    assert from_minor_units(units, currency) == Decimal(amount)


def test_amounts_that_do_not_fit_the_currency_are_refused_not_rounded():
    with pytest.raises(ValueError, match="decimals"):
        minor_units(Decimal("500.50"), "JPY")
    with pytest.raises(ValueError, match="decimals"):
        minor_units(Decimal("1.005"), "CNY")


def test_floats_are_refused_at_the_boundary():
    with pytest.raises(TypeError):
        minor_units(12.5, "USD")
    with pytest.raises(TypeError):
        from_minor_units(12.5, "USD")


def test_no_float_on_the_money_path():
    root = Path(__file__).resolve().parents[2] / "payments"
    offenders = [
        f"{path.name}:{number}"
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bfloat\b|FloatField|\d\.\d+e", line) and "not {type" not in line
    ]
    assert offenders == []


def test_fees_round_to_what_the_currency_can_pay():
    assert round_to_currency(Decimal("12345") * Decimal("0.025"), "JPY") == Decimal("309.00")  # 308.625
    assert round_to_currency(Decimal("12345.67") * Decimal("0.025"), "CNY") == Decimal("308.64")  # 308.64175
    assert minor_units(round_to_currency(Decimal("999") * Decimal("0.015"), "JPY"), "JPY") == 15  # 14.985
