"""Production settings: every secret from the environment, HTTPS enforced, no debug."""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Portfolios: debtor-data keys, required. PII_VAULT_KEY: 32 random bytes in URL-safe base64 (AES-256-GCM);
# PII_HASH_KEY: 32+ random characters (HMAC of debtor identities). Never change them: the vault could not be
# decrypted, and the chain-of-title register would no longer recognise debts already listed.
PII_VAULT_KEY = env.str("PII_VAULT_KEY")
PII_HASH_KEY = env.str("PII_HASH_KEY")
