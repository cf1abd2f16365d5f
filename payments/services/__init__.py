"""Money around an auction: deposit holds, settlement on close, the balance payment and the seller's payout."""

from payments.errors import PaymentError
from payments.services.deposits import (
    defaulted_on_portfolio,
    deposit_client_secret,
    deposit_hold,
    deposit_sync,
    deposits_release,
    holds_settle,
)
from payments.services.settlement import (
    settlement_default,
    settlement_mark_paid,
    settlement_open,
    settlement_pay,
    settlement_payout,
    settlement_payout_confirm,
    settlement_sync,
    settlements_default_due,
)

__all__ = [
    "PaymentError",
    "defaulted_on_portfolio",
    "deposit_client_secret",
    "deposit_hold",
    "deposit_sync",
    "deposits_release",
    "holds_settle",
    "settlement_default",
    "settlement_mark_paid",
    "settlement_open",
    "settlement_pay",
    "settlement_payout",
    "settlement_payout_confirm",
    "settlement_sync",
    "settlements_default_due",
]
