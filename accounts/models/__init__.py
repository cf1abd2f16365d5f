"""Account models: users and organizations, buyer verification, investor protection."""

from accounts.models.users import ApiToken, Membership, Organization, User, UserManager, normalize_email
from accounts.models.verification import (
    AccountDecision,
    InvestorClassification,
    KycSubmission,
    RelatedPartyFlag,
    ReviewStatus,
)

__all__ = [
    "AccountDecision",
    "ApiToken",
    "InvestorClassification",
    "KycSubmission",
    "Membership",
    "Organization",
    "RelatedPartyFlag",
    "ReviewStatus",
    "User",
    "UserManager",
    "normalize_email",
]
