"""What pages and other apps read about money: deposits, settlements, sales, offers and money at stake."""

from decimal import Decimal

from django.db.models import QuerySet

from accounts.models import User
from payments.models import Deposit, RunnerUpOffer, Settlement


def deposit_status(*, user: User, auction_id: int) -> str | None:
    """The buyer's latest deposit status on the auction (`held` lets them bid), or None if they never posted one."""
    return (
        Deposit.objects.filter(user=user, auction_id=auction_id)
        .order_by("-created_at", "-pk")
        .values_list("status", flat=True)
        .first()
    )


def held_deposits(*, user: User) -> dict[int, Decimal]:
    """Deposit amounts the buyer has on hold, by auction id."""
    rows = Deposit.objects.filter(user=user, status=Deposit.Status.HELD).values_list("auction_id", "amount")
    return dict(rows)


def unpaid_settlements(*, user: User) -> dict[int, Decimal]:
    """Hammer prices of auctions the buyer won and has not paid for yet, by auction id (the whole stake is open)."""
    rows = Settlement.objects.filter(buyer=user, status__in=Settlement.UNPAID).values_list("auction_id", "hammer_price")
    return dict(rows)


def deposit_list(*, user: User) -> QuerySet[Deposit]:
    """The buyer's deposits, newest first."""
    return Deposit.objects.filter(user=user).order_by("-created_at", "-pk")


def settlement_list(*, user: User) -> QuerySet[Settlement]:
    """Settlements of auctions the buyer won, newest first."""
    return Settlement.objects.filter(buyer=user).order_by("-created_at", "-pk")


def sales_list(*, organization_ids: list[int]) -> QuerySet[Settlement]:
    """Settlements of portfolios the given seller organizations sold, newest first."""
    return (
        Settlement.objects.filter(auction__portfolio__seller_id__in=organization_ids)
        .select_related("auction__portfolio")
        .order_by("-created_at", "-pk")
    )


def offer_list(*, user: User) -> QuerySet[RunnerUpOffer]:
    """The buyer's runner-up offers, newest first."""
    return (
        RunnerUpOffer.objects.filter(buyer=user)
        .select_related("auction__portfolio", "settlement")
        .order_by("-created_at", "-pk")
    )


def defaulted_on_portfolio(*, user: User, portfolio_id: int) -> bool:
    """Whether the buyer won an earlier round of this portfolio and did not pay (they are barred from it)."""
    return Settlement.objects.filter(
        buyer=user, status=Settlement.Status.DEFAULTED, auction__portfolio_id=portfolio_id
    ).exists()
