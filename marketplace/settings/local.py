"""Development settings: debug on, e-mails printed to the console."""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import env

DEBUG = env.bool("DEBUG", default=True)

# --- Portfolios: development-only debtor-data keys; production takes its own from the environment -------------
PII_VAULT_KEY = env.str("PII_VAULT_KEY", default="ZGV2ZWxvcG1lbnQtb25seS12YXVsdC1rZXktMzItYiE=")
PII_HASH_KEY = env.str("PII_HASH_KEY", default="development-only-hmac-key-for-debtor-identities")
