"""The one door to Stripe: the official SDK configured from settings, and Decimal <-> minor units conversion."""

from decimal import ROUND_HALF_UP, Decimal

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from marketplace.money import quantize

# ISO 4217 currencies Stripe charges in whole units (no minor unit); every other currency we accept has two.
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


def _exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def round_to_currency(amount: Decimal, currency: str) -> Decimal:
    """A computed amount (a fee) rounded half up to what the currency can pay: cents, or whole yen."""
    return quantize(amount) if _exponent(currency) == 2 else quantize(amount.quantize(Decimal(1), ROUND_HALF_UP))


def minor_units(amount: Decimal, currency: str) -> int:
    """The amount as Stripe's integer in the currency's smallest unit (125000.00 CNY -> 12500000, 500 JPY -> 500).

    Refuses an amount that does not fit the currency exactly instead of rounding money away."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    scaled = amount.scaleb(_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more decimals than the currency allows")
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    """Stripe's integer amount back as our two-decimal Decimal (the inverse of `minor_units`)."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"minor units must be an int, not {type(units).__name__}")
    return Decimal(units).scaleb(-_exponent(currency)).quantize(Decimal("0.01"))


def client() -> stripe.StripeClient:
    """An SDK client for the configured account; `STRIPE_API_BASE` points it at localstripe offline."""
    if not settings.STRIPE_SECRET_KEY:
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is not set (make run and make test start localstripe)")
    base = settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE
    # Retries are safe: every write we send carries an idempotency key derived from our own ids.
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": base}, max_network_retries=settings.STRIPE_MAX_RETRIES
    )


def js_url() -> str:
    """Stripe.js for pages: the real one, or localstripe's stand-in when the API is local."""
    if settings.STRIPE_API_BASE:
        return settings.STRIPE_API_BASE.rstrip("/") + "/js.stripe.com/v3/"
    return "https://js.stripe.com/v3/"


def webhook_event(payload: bytes, signature: str) -> stripe.Event:
    """The verified event; raises ValueError or stripe.SignatureVerificationError otherwise."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET is not set")
    return stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
