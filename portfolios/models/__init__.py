"""Portfolio listings, their loans, the debtor-data vault and loan-tape imports."""

from portfolios.models.imports import ImportIssue, LoanTapeImport, PortfolioStats
from portfolios.models.listing import Portfolio, PortfolioEvent
from portfolios.models.loans import Loan, PiiRelease, VaultRecord

__all__ = [
    "ImportIssue",
    "Loan",
    "LoanTapeImport",
    "PiiRelease",
    "Portfolio",
    "PortfolioEvent",
    "PortfolioStats",
    "VaultRecord",
]
