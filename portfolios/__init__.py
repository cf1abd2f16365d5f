"""Debt portfolios: listings, loan tapes, the PII vault, analytics, the data room."""
