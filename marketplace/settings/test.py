"""Test settings: real PostgreSQL and Redis, fast password hashing, a Redis database of its own."""

import tempfile
from urllib.parse import urlsplit, urlunsplit

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import REDIS_URL, REST_FRAMEWORK, env, redis_backed

# In-process tests run tasks eagerly (after commit, as in production); servers started by tests turn this off
# and send their tasks to a real worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Uploaded identity documents go to a throw-away folder (servers started by tests are handed the same one).
PRIVATE_MEDIA_ROOT = env.str("PRIVATE_MEDIA_ROOT", default=tempfile.mkdtemp(prefix="mkt-private-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "accounts.models.verification.PrivateStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "10000/min", "user": "10000/min"}}

# Tests flush their Redis database, so they never share the development one (database 0).
_redis = urlsplit(REDIS_URL)
vars().update(redis_backed(env.str("TEST_REDIS_URL", default=urlunsplit(_redis._replace(path="/9")))))

# Tests never run collectstatic: WhiteNoise serves straight from the apps' static folders.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# --- Portfolios: development-only debtor-data keys; production takes its own from the environment -------------
PII_VAULT_KEY = env.str("PII_VAULT_KEY", default="ZGV2ZWxvcG1lbnQtb25seS12YXVsdC1rZXktMzItYiE=")
PII_HASH_KEY = env.str("PII_HASH_KEY", default="development-only-hmac-key-for-debtor-identities")
