"""Forms that make us send e-mail are rate-limited, so nobody can flood an inbox or probe at machine speed."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from marketplace.ratelimit import allow

WINDOW = timedelta(hours=1)


def email_form_allowed(*, form: str, email: str, ip: str | None) -> None:
    """Count one use of an e-mail-sending form; raise a form-level error once the IP or the address is over."""
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    by_ip = allow(f"mail-form:{form}:ip:{ip or 'unknown'}", limit=settings.EMAIL_FORM_LIMIT_PER_IP, window=WINDOW)
    by_address = allow(f"mail-form:{form}:to:{address}", limit=settings.EMAIL_FORM_LIMIT_PER_ADDRESS, window=WINDOW)
    if not (by_ip and by_address):
        raise ValidationError(_("Too many requests. Please wait an hour and try again."), code="rate_limited")
