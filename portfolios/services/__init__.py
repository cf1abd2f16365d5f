"""Every change in portfolios: listings, loan-tape imports and the release of debtor data."""

from portfolios.services.debtor_data import portfolio_release_to_buyer
from portfolios.services.listing import (
    PortfolioError,
    portfolio_create,
    portfolio_review,
    portfolio_submit,
    portfolio_transition,
    portfolio_transition_many,
    portfolio_update,
    portfolio_withdraw,
)

__all__ = [
    "PortfolioError",
    "portfolio_create",
    "portfolio_release_to_buyer",
    "portfolio_review",
    "portfolio_submit",
    "portfolio_transition",
    "portfolio_transition_many",
    "portfolio_update",
    "portfolio_withdraw",
]
