"""HTML forms for sign-up, login, profile and API tokens."""

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import login_throttle
from accounts.models import User


class SignUpForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )


class LoginForm(AuthenticationForm):
    """Django's login form plus brute-force lockout and the e-mail-verified rule."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The e-mail address or password is not correct."),
        "locked": _(
            "Too many failed sign-in attempts. For your security, sign-in is paused for up to "
            "%(minutes)s minutes. You can reset your password meanwhile."
        ),
        "unverified": _("Please confirm your e-mail address first: follow the link we sent you, or ask for a new one."),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("E-mail address")

    def _client_ip(self) -> str:
        return self.request.META.get("REMOTE_ADDR", "unknown") if self.request else "unknown"

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username") or ""
        ip = self._client_ip()
        if login_throttle.login_is_locked(email=email, ip=ip):
            raise ValidationError(
                self.error_messages["locked"], code="locked", params={"minutes": login_throttle.lockout_minutes()}
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            login_throttle.login_failure_record(email=email, ip=ip)
            raise
        login_throttle.login_failures_clear(email=email, ip=ip)
        return cleaned

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.email_verified:
            raise ValidationError(self.error_messages["unverified"], code="unverified")


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name"]


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("e.g. “bidding robot”"))
