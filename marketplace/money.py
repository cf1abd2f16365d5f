"""Money: two-decimal `Decimal` amounts, parsed strictly from the strings clients send; never a float."""

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models

MAX_DIGITS = 18  # every money column: up to 9,999,999,999,999,999.99
DECIMAL_PLACES = 2
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10 ** (MAX_DIGITS - DECIMAL_PLACES)) - CENT
# Digits, an optional point and at most two decimals: no sign, exponent, NaN, infinity or thousands separators.
AMOUNT_TEXT = re.compile(r"\d{1,16}(\.\d{1,2})?")


def quantize(amount: Decimal) -> Decimal:
    """The amount rounded to cents (half up), the one rounding rule for computed money."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(value: object) -> Decimal | None:
    """A positive amount from its string form (`"125000.00"`), or None when the value is not one."""
    if not isinstance(value, str) or not AMOUNT_TEXT.fullmatch(value):
        return None
    amount = Decimal(value)
    return amount.quantize(CENT) if 0 < amount <= MAX_AMOUNT else None


def text(amount: Decimal | None) -> str | None:
    """The API's form of an amount: a string with two decimals."""
    return None if amount is None else f"{amount.quantize(CENT)}"


class MoneyField(models.DecimalField):
    """Every money column: the same precision everywhere (the currency sits in a field next to it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)
