"""The money ledger: every movement as balanced double-entry legs, posted once, inside the caller's transaction.

Accounts: `cash` (money with Stripe or in our bank), `buyer:<user>` (what a buyer owes; negative is credit),
`seller:<organization>` (what we owe a seller), `revenue:premium`, `revenue:commission`, and the memo pair
`holds:authorized` / `holds:buyer:<user>` for card authorizations (no money has moved yet).
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from payments.models import Deposit, LedgerEntry, Refund, Settlement
from payments.stripe_client import round_to_currency


class UnbalancedError(ValueError):
    pass


def _post(
    *,
    key: str,
    kind: str,
    currency: str,
    legs: list[tuple[str, Decimal]],
    settlement: Settlement | None = None,
    deposit: Deposit | None = None,
) -> bool:
    """Write the legs of one movement unless `key` was posted already; they must sum to zero."""
    if sum((amount for _account, amount in legs), Decimal(0)) != 0:
        raise UnbalancedError(f"{key}: legs do not balance: {legs}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("post ledger entries in the transaction that makes the change")
    if LedgerEntry.objects.filter(transaction=key).exists():
        return False
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            transaction=key,
            kind=kind,
            account=account,
            amount=amount,
            currency=currency,
            settlement=settlement,
            deposit=deposit,
        )
        for account, amount in legs
        if amount
    )
    return True


def hold_posted(*, deposit: Deposit) -> None:
    _post(
        key=f"deposit-{deposit.pk}-hold",
        kind="hold",
        currency=deposit.currency,
        deposit=deposit,
        legs=[("holds:authorized", deposit.amount), (f"holds:buyer:{deposit.user_id}", -deposit.amount)],
    )


def hold_released(*, deposit: Deposit) -> None:
    if not LedgerEntry.objects.filter(transaction=f"deposit-{deposit.pk}-hold").exists():
        return  # never held (a pending or failed attempt): nothing to undo
    _post(
        key=f"deposit-{deposit.pk}-release",
        kind="release",
        currency=deposit.currency,
        deposit=deposit,
        legs=[("holds:authorized", -deposit.amount), (f"holds:buyer:{deposit.user_id}", deposit.amount)],
    )


def deposit_captured(*, deposit: Deposit, settlement: Settlement | None) -> None:
    """The hold became money: the memo pair closes, cash comes in, the buyer is credited."""
    hold_released(deposit=deposit)
    _post(
        key=f"deposit-{deposit.pk}-capture",
        kind="capture",
        currency=deposit.currency,
        deposit=deposit,
        settlement=settlement,
        legs=[("cash", deposit.amount), (f"buyer:{deposit.user_id}", -deposit.amount)],
    )


def sale_posted(*, settlement: Settlement, seller_id: int) -> None:
    """The buyer owes hammer price plus premium; we owe the seller hammer price less commission; the rest is ours."""
    _post(
        key=f"settlement-{settlement.pk}-sale",
        kind="sale",
        currency=settlement.currency,
        settlement=settlement,
        legs=[
            (f"buyer:{settlement.buyer_id}", settlement.hammer_price + settlement.buyer_premium),
            (f"seller:{seller_id}", -settlement.payout_amount),
            ("revenue:premium", -settlement.buyer_premium),
            ("revenue:commission", -settlement.seller_commission),
        ],
    )


def payment_received(*, settlement: Settlement) -> None:
    _post(
        key=f"settlement-{settlement.pk}-payment",
        kind="payment",
        currency=settlement.currency,
        settlement=settlement,
        legs=[("cash", settlement.balance_due), (f"buyer:{settlement.buyer_id}", -settlement.balance_due)],
    )


def payout_sent(*, settlement: Settlement, seller_id: int) -> None:
    _post(
        key=f"settlement-{settlement.pk}-payout",
        kind="payout",
        currency=settlement.currency,
        settlement=settlement,
        legs=[(f"seller:{seller_id}", settlement.payout_amount), ("cash", -settlement.payout_amount)],
    )


def balance(*, account: str, currency: str) -> Decimal:
    total = LedgerEntry.objects.filter(account=account, currency=currency).aggregate(total=Sum("amount"))["total"]
    return total or Decimal(0)


def forfeiture_split(*, settlement: Settlement, seller_share: Decimal) -> Decimal:
    """The seller's part of a defaulted settlement's forfeited deposit (nothing when no deposit was applied)."""
    return round_to_currency(settlement.deposit_applied * seller_share, settlement.currency)


def forfeiture_posted(*, settlement: Settlement, seller_id: int, seller_share: Decimal) -> None:
    """The winner defaulted: the sale is undone and the captured deposit split between the seller and us."""
    forfeited = settlement.deposit_applied
    to_seller = forfeiture_split(settlement=settlement, seller_share=seller_share)
    _post(
        key=f"settlement-{settlement.pk}-default",
        kind="forfeiture",
        currency=settlement.currency,
        settlement=settlement,
        legs=[
            # reverse the sale
            (f"buyer:{settlement.buyer_id}", -(settlement.hammer_price + settlement.buyer_premium) + forfeited),
            (f"seller:{seller_id}", settlement.payout_amount - to_seller),
            ("revenue:premium", settlement.buyer_premium),
            ("revenue:commission", settlement.seller_commission),
            ("revenue:forfeiture", -(forfeited - to_seller)),
        ],
    )


def forfeiture_paid_out(*, settlement: Settlement, seller_id: int) -> None:
    """The seller's share of a forfeited deposit left us (Connect transfer or bank transfer)."""
    _post(
        key=f"settlement-{settlement.pk}-forfeit-payout",
        kind="payout",
        currency=settlement.currency,
        settlement=settlement,
        legs=[(f"seller:{seller_id}", settlement.forfeit_seller_amount), ("cash", -settlement.forfeit_seller_amount)],
    )


def refund_posted(*, refund: Refund) -> None:
    """Staff gave a captured payment or deposit back: the money leaves, the buyer owes it again (or is owed less)."""
    _post(
        key=f"refund-{refund.pk}",
        kind="refund",
        currency=refund.currency,
        settlement=refund.settlement,
        deposit=refund.deposit,
        legs=[(f"buyer:{refund.buyer_id}", refund.amount), ("cash", -refund.amount)],
    )
