"""Money around an auction: deposit holds, settlement on close, the balance payment and the seller's payout,
runner-up offers after a default, staff refunds, and the sweep that finishes lost hand-offs."""

from payments.errors import PaymentError
from payments.services.deposits import (
    deposit_client_secret,
    deposit_hold,
    deposit_sync,
    deposits_release,
    holds_settle,
)
from payments.services.offers import offer_accept, offer_decline, offers_expire_due
from payments.services.refunds import payment_refund
from payments.services.settlement import (
    settlement_default,
    settlement_forfeit_payout,
    settlement_forfeit_payout_confirm,
    settlement_mark_paid,
    settlement_open,
    settlement_pay,
    settlement_payout,
    settlement_payout_confirm,
    settlement_sync,
    settlements_default_due,
)
from payments.services.sweep import payments_sweep

__all__ = [
    "PaymentError",
    "deposit_client_secret",
    "deposit_hold",
    "deposit_sync",
    "deposits_release",
    "holds_settle",
    "offer_accept",
    "offer_decline",
    "offers_expire_due",
    "payment_refund",
    "payments_sweep",
    "settlement_default",
    "settlement_forfeit_payout",
    "settlement_forfeit_payout_confirm",
    "settlement_mark_paid",
    "settlement_open",
    "settlement_pay",
    "settlement_payout",
    "settlement_payout_confirm",
    "settlement_sync",
    "settlements_default_due",
]
