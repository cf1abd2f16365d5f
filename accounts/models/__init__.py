"""Account models: users and organizations, buyer verification, investor protection."""

from accounts.models.suitability import RiskAcknowledgement, RiskWarning, SuitabilityAssessment
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
    "RiskAcknowledgement",
    "RiskWarning",
    "SuitabilityAssessment",
    "User",
    "UserManager",
    "normalize_email",
]
