"""Portfolio listings, their loans, the debtor-data vault and loan-tape imports."""

from portfolios.models.data_room import DataRoomAccess, NdaAcceptance, NdaVersion, PortfolioDocument
from portfolios.models.imports import ImportIssue, LoanTapeImport, PortfolioStats
from portfolios.models.listing import Portfolio, PortfolioEvent
from portfolios.models.loans import Loan, PiiRelease, VaultBlock

__all__ = [
    "DataRoomAccess",
    "ImportIssue",
    "Loan",
    "LoanTapeImport",
    "NdaAcceptance",
    "NdaVersion",
    "PiiRelease",
    "Portfolio",
    "PortfolioDocument",
    "PortfolioEvent",
    "PortfolioStats",
    "VaultBlock",
]
