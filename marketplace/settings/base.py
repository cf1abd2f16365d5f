"""Settings shared by every environment; values come from the environment with safe defaults."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
STATE_DIR = BASE_DIR / ".state"

django_stubs_ext.monkeypatch()

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "portfolios",
    "auctions",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
ASGI_APPLICATION = "marketplace.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "auctions.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Under ASGI every request may run on another thread: persistent connections would leak, so
# CONN_MAX_AGE stays 0 and psycopg's pool (Django >= 5.1, psycopg 3 only) reuses connections.
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/marketplace")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": env.int("DB_POOL_MIN", default=1),
    "max_size": env.int("DB_POOL_MAX", default=10),
    "timeout": 10,
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker -------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")


def redis_backed(url: str) -> dict[str, Any]:
    """Cache, channel layer and Celery broker settings for one Redis URL."""
    return {
        "REDIS_URL": url,
        "CACHES": {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "mkt"}
        },
        # redis-py 8 defaults to a 5 s socket timeout, the same as channels-redis's blocking pop: idle
        # consumers then die every few seconds (channels_redis#422). socket_timeout=None disables it.
        "CHANNEL_LAYERS": {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": url, "socket_timeout": None, "max_connections": 200}],
                    "prefix": "mkt-ws",
                    "capacity": 1000,
                    "expiry": 60,
                },
            }
        },
        "CELERY_BROKER_URL": url,
    }


vars().update(redis_backed(REDIS_URL))
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "healthcheck-heartbeat": {"task": "marketplace.tasks.heartbeat", "schedule": timedelta(seconds=30)},
    # The guarantee behind closing on time (ETA tasks only make it prompt): opens and closes every due auction.
    "auctions-sweep": {
        "task": "auctions.tasks.auctions_sweep",
        "schedule": timedelta(seconds=env.float("AUCTION_SWEEP_SECONDS", default=1.0)),
        "options": {"expires": 10},
    },
    "auctions-outbid": {  # outbid notices that bids queued, onto the buyers' lists (and e-mailed)
        "task": "auctions.tasks.outbid_queue_drain",
        "schedule": timedelta(seconds=2),
        "options": {"expires": 10},
    },
    "auctions-results": {  # won/lost notices whose task was lost at the close (broker down)
        "task": "auctions.tasks.results_unsent",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
}
CELERY_TIMEZONE = "UTC"

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
EMAIL_VERIFICATION_MAX_AGE = timedelta(days=3)
# Failed logins allowed per e-mail address and per client IP within the window, then a lockout.
LOGIN_FAILURE_LIMIT_PER_ACCOUNT = env.int("LOGIN_FAILURE_LIMIT_PER_ACCOUNT", default=5)
LOGIN_FAILURE_LIMIT_PER_IP = env.int("LOGIN_FAILURE_LIMIT_PER_IP", default=30)
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
# Forms that send e-mail (sign-up, new verification link, password reset): per client IP and per address, per hour.
EMAIL_FORM_LIMIT_PER_IP = env.int("EMAIL_FORM_LIMIT_PER_IP", default=10)
EMAIL_FORM_LIMIT_PER_ADDRESS = env.int("EMAIL_FORM_LIMIT_PER_ADDRESS", default=3)

# --- E-mail ---------------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Debt Auctions <no-reply@example.com>")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(STATE_DIR / "mail"))

# --- Stripe (used by the payments app) ------------------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "URL_FORMAT_OVERRIDE": None,  # `?format=` is the auction-format filter of API.md, not a renderer switch
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["marketplace.ratelimit.AnonThrottle", "marketplace.ratelimit.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_ANON_RATE", default="120/min"),
        "user": env("API_USER_RATE", default="1200/min"),
    },
    # How many proxies in front of us append to X-Forwarded-For; 0 = key throttles on the socket address.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bad-debt auction marketplace API",
    "DESCRIPTION": "REST interface for portfolios, auctions, bids and money. See API.md.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- I18n, static files -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(STATE_DIR / "staticfiles"))
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(STATE_DIR / "media"))
PRIVATE_MEDIA_ROOT = env.str("PRIVATE_MEDIA_ROOT", default=str(STATE_DIR / "private"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "accounts.models.verification.PrivateStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")  # also Django's own loggers (ERROR hides refused requests)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}},
}

# Password of the accounts `manage.py demo_data` creates (development and demos only).
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo-pass-2026")

# --- Buyer verification and retail protection -----------------------------------------------------
KYC_MAX_UPLOAD_BYTES = env.int("KYC_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
PROFESSIONAL_REASSESSMENT_DAYS = 2 * 365
SUITABILITY_REFLECTION_DAYS = env.int("SUITABILITY_REFLECTION_DAYS", default=4)
KNOWLEDGE_TEST_ATTEMPTS_PER_DAY = env.int("KNOWLEDGE_TEST_ATTEMPTS_PER_DAY", default=3)
# A retail buyer's open commitments may not exceed the lower of this and a share of declared net worth,
# both in RETAIL_EXPOSURE_CURRENCY (declared figures are taken in it too).
RETAIL_EXPOSURE_CURRENCY = "CNY"
RETAIL_EXPOSURE_LIMIT = Decimal(env.str("RETAIL_EXPOSURE_LIMIT", default="500000.00"))
RETAIL_EXPOSURE_NET_WORTH_SHARE = Decimal(env.str("RETAIL_EXPOSURE_NET_WORTH_SHARE", default="0.10"))

# --- Auctions -------------------------------------------------------------------------------------
AUCTION_DEFAULT_DEPOSIT_SHARE = Decimal("0.10")  # of the starting price; at most 20 % (a database constraint)
# Bids one buyer may place on one auction per window (API clients included); the rest get `rate_limited`.
BID_RATE_LIMIT = env.int("BID_RATE_LIMIT", default=20)
BID_RATE_WINDOW_SECONDS = env.int("BID_RATE_WINDOW_SECONDS", default=10)
AUCTION_ENDING_SOON_MINUTES = env.int("AUCTION_ENDING_SOON_MINUTES", default=15)  # watchers who asked are told

# --- Payments -------------------------------------------------------------------------------------
SETTLEMENT_DUE_DAYS = env.int("SETTLEMENT_DUE_DAYS", default=7)  # the winner pays the balance within this
STRIPE_MAX_RETRIES = env.int("STRIPE_MAX_RETRIES", default=2)  # safe: every write carries an idempotency key
# Card holds lapse after about 7 days: deposits open only this many days before an auction's end, and the
# winner's hold is captured at the close, so no hold we still need is older than that (a day of margin).
DEPOSIT_WINDOW_DAYS = env.int("DEPOSIT_WINDOW_DAYS", default=6)
# Fees as shares of the hammer price: the buyer pays the premium on top, the seller's payout is less commission.
BUYER_PREMIUM_RATE = Decimal(env.str("BUYER_PREMIUM_RATE", default="0.02"))
SELLER_COMMISSION_RATE = Decimal(env.str("SELLER_COMMISSION_RATE", default="0.03"))
# A winner who does not pay by the deadline forfeits the deposit: this share compensates the seller, the rest is ours.
FORFEIT_SELLER_SHARE = Decimal(env.str("FORFEIT_SELLER_SHARE", default="0.50"))
CELERY_BEAT_SCHEDULE["payments-defaults"] = {  # settlements past their deadline default
    "task": "payments.tasks.settlements_default_due",
    "schedule": timedelta(minutes=1),
    "options": {"expires": 50},
}
# After a default the runner-up may buy the lot at their own last bid within this many hours.
RUNNER_UP_OFFER_HOURS = env.int("RUNNER_UP_OFFER_HOURS", default=48)
CELERY_BEAT_SCHEDULE["payments-offers"] = {  # runner-up offers past their time lapse; the lot goes back
    "task": "payments.tasks.offers_expire_due",
    "schedule": timedelta(minutes=1),
    "options": {"expires": 50},
}
CELERY_BEAT_SCHEDULE["payments-sweep"] = {  # closings and cancellations whose payments hand-off was lost
    "task": "payments.tasks.payments_sweep",
    "schedule": timedelta(minutes=1),
    "options": {"expires": 50},
}
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {  # our records against Stripe's; differences flagged in admin
    "task": "payments.tasks.ledger_reconcile",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3000},
}

# --- Portfolios -----------------------------------------------------------------------------------
# Loan tapes: largest upload, and how many problems a failed import keeps (it counts them all).
LOAN_TAPE_MAX_UPLOAD_BYTES = env.int("LOAN_TAPE_MAX_UPLOAD_BYTES", default=512 * 1024 * 1024)
LOAN_TAPE_MAX_STORED_ERRORS = env.int("LOAN_TAPE_MAX_STORED_ERRORS", default=10_000)
# Documents sellers add to a listing (PDF, CSV, XLSX): largest upload.
PORTFOLIO_DOCUMENT_MAX_UPLOAD_BYTES = env.int("PORTFOLIO_DOCUMENT_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
# Data-room reads (loan pages, downloads) one user may make per window; beyond it `rate_limited` (429).
DATA_ROOM_READ_LIMIT = env.int("DATA_ROOM_READ_LIMIT", default=120)
DATA_ROOM_READ_WINDOW_SECONDS = env.int("DATA_ROOM_READ_WINDOW_SECONDS", default=60)
# OpenAPI names for the enums whose field names ("status", "kind") several apps use for different choices.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES", {}),  # type: ignore[dict-item]
    "PortfolioStatusEnum": "portfolios.models.Portfolio.Status",
    "PortfolioDocumentKindEnum": "portfolios.models.PortfolioDocument.Kind",
    "BidKindEnum": "auctions.models.Bid.Kind",
    "AuctionEventKindEnum": "auctions.models.AuctionEvent.Kind",
    "AuctionStatusEnum": "auctions.models.Auction.Status",
    "DepositStatusEnum": "payments.models.Deposit.Status",
    "SettlementStatusEnum": "payments.models.Settlement.Status",
    "OfferStatusEnum": "payments.models.RunnerUpOffer.Status",
}
