"""Payments: deposits, settlements, payouts, the money ledger, Stripe."""
