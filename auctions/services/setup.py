"""Setting auctions up: a seller's auction of an approved portfolio, and the next round of an unsold one."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import User
from auctions.models import MAX_DEPOSIT_SHARE, Auction
from auctions.services.base import (
    AuctionError,
    _schedule,
    _steps,
)
from marketplace import money
from portfolios import services as portfolio_services
from portfolios.models import Portfolio

MAX_ROUND_DISCOUNT = Decimal("0.20")  # a new round starts at most this much lower


def auction_create(*, user: User, portfolio: Portfolio, data: dict[str, Any]) -> Auction:
    """The seller's owners and traders, or staff allowed to add auctions, put an approved portfolio up for auction."""
    staff = user.is_staff and user.has_perm("auctions.add_auction")
    if not staff and not account_selectors.organizations_acted_for(user=user).filter(pk=portfolio.seller_id).exists():
        raise AuctionError(
            "not_seller_member", _("Only the seller's owners and traders can auction it."), http_status=403
        )
    if portfolio.status != Portfolio.Status.APPROVED:
        raise AuctionError("portfolio_not_approved", _("Only an approved portfolio can be auctioned."))
    return _create(user=user, portfolio=portfolio, data=data, round_number=1, previous=None)


def auction_relist(*, user: User, auction: Auction, data: dict[str, Any]) -> Auction:
    """The next round of an unsold auction, or of a defaulted one whose lot payments returned to the seller (no
    runner-up bought it), starting at most 20 % lower."""
    if not account_selectors.organizations_acted_for(user=user).filter(pk=auction.portfolio.seller_id).exists():
        raise AuctionError("not_seller_member", _("Only the seller's owners and traders can relist."), http_status=403)
    returned = (
        auction.status == Auction.Status.DEFAULTED
        and Portfolio.objects.filter(pk=auction.portfolio_id, status=Portfolio.Status.UNSOLD).exists()
    )
    if not (auction.result == Auction.Result.UNSOLD or returned) or hasattr(auction, "next_round"):
        raise AuctionError("not_relistable", _("Only an unsold auction without a next round can be relisted."))
    floor = money.quantize(auction.starting_price * (1 - MAX_ROUND_DISCOUNT))
    start = money.parse_amount(data.get("starting_price"))
    if start is not None and start < floor:
        raise ValidationError({"starting_price": _("A new round may start at most 20%% lower: at least %s.") % floor})
    return _create(user=user, portfolio=auction.portfolio, data=data, round_number=auction.round + 1, previous=auction)


def _create(
    *, user: User, portfolio: Portfolio, data: dict[str, Any], round_number: int, previous: Auction | None
) -> Auction:
    errors: dict[str, str] = {}
    prices: dict[str, Decimal | None] = {}
    for name in ("starting_price", "reserve_price", "increment", "deposit_amount"):
        value = data.get(name)
        prices[name] = money.parse_amount(value) if value not in (None, "") else None
        if value not in (None, "") and prices[name] is None:
            errors[name] = _('Give an amount as a string such as "125000.00".')
    start = prices["starting_price"]
    if start is None:
        errors.setdefault("starting_price", _("Set a starting price."))
    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        errors["ends_at"] = _("Set when the auction starts and ends.")
    elif ends_at <= starts_at:
        errors["ends_at"] = _("The auction must end after it starts.")
    elif ends_at <= timezone.now():
        errors["ends_at"] = _("The end must be in the future.")
    if data.get("format", Auction.Format.ENGLISH) not in Auction.Format.values:
        errors["format"] = _("Choose english or sealed.")
    if start is not None:
        reserve = prices["reserve_price"] or start
        deposit = prices["deposit_amount"] or money.quantize(start * settings.AUCTION_DEFAULT_DEPOSIT_SHARE)
        if reserve < start:
            errors["reserve_price"] = _("The reserve cannot be below the starting price.")
        if not 0 < deposit <= start * MAX_DEPOSIT_SHARE:
            errors["deposit_amount"] = _("The deposit must be positive and at most 20% of the starting price.")
    table = data.get("increment_table") or []
    try:
        _steps(table)
    except ValidationError as error:
        errors.update({key: value[0] for key, value in error.message_dict.items()})
    windows = {}
    for name in ("soft_close_window", "soft_close_extension"):
        value = data.get(name, timedelta(minutes=5))
        if not isinstance(value, timedelta) or not timedelta(0) <= value <= timedelta(hours=1):
            errors[name] = _("Between 0 and 60 minutes.")
        windows[name] = value
    if errors or start is None or not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        raise ValidationError(errors)
    increment = prices["increment"] or money.quantize(max(start / 100, Decimal(1)))
    with transaction.atomic():
        locked = Portfolio.objects.select_for_update(no_key=True).get(pk=portfolio.pk)
        if locked.auctions.filter(status__in=Auction.OPEN).exists():
            raise AuctionError("portfolio_in_auction", _("This portfolio is already in an auction."))
        auction = Auction.objects.create(
            portfolio=locked,
            previous_round=previous,
            round=round_number,
            format=data.get("format", Auction.Format.ENGLISH),
            currency=locked.currency,
            starts_at=starts_at,
            ends_at=ends_at,
            closes_at=ends_at,
            starting_price=start,
            reserve_price=prices["reserve_price"] or start,
            increment=increment,
            increment_table=[[str(a), str(b)] for a, b in _steps(table)],
            deposit_amount=prices["deposit_amount"] or money.quantize(start * settings.AUCTION_DEFAULT_DEPOSIT_SHARE),
            min_next_bid=start,
            created_by=user,
            **windows,
        )
        auction.portfolio = portfolio_services.portfolio_transition(
            portfolio=locked, to=Portfolio.Status.IN_AUCTION, actor=user
        )
        _schedule(auction)
    return auction
