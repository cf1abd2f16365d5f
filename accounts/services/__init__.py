"""Every change to accounts, one function per use case."""

from accounts.services.suitability import knowledge_test_submit, risk_warning_acknowledge
from accounts.services.users import (
    API_TOKEN_PREFIX,
    VERIFY_EMAIL_SALT,
    AccountError,
    api_token_create,
    api_token_revoke,
    email_verification_token,
    hash_api_key,
    user_for_api_key,
    user_profile_update,
    user_resend_verification,
    user_send_verification_email,
    user_sign_up,
    user_verify_email,
)
from accounts.services.verification import (
    classification_decide,
    classification_request,
    decision_record,
    document_validate,
    kyc_review,
    kyc_submit,
    related_party_flag,
    user_suspend,
)

__all__ = [
    "API_TOKEN_PREFIX",
    "VERIFY_EMAIL_SALT",
    "AccountError",
    "api_token_create",
    "api_token_revoke",
    "classification_decide",
    "classification_request",
    "decision_record",
    "document_validate",
    "email_verification_token",
    "hash_api_key",
    "knowledge_test_submit",
    "kyc_review",
    "kyc_submit",
    "related_party_flag",
    "risk_warning_acknowledge",
    "user_for_api_key",
    "user_profile_update",
    "user_resend_verification",
    "user_send_verification_email",
    "user_sign_up",
    "user_suspend",
    "user_verify_email",
]
