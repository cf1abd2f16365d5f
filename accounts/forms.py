"""HTML forms: sign-up, login, profile, API tokens, identity verification and investor classification."""

import contextlib
import logging
from typing import Any, cast

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from accounts import login_throttle
from accounts.models import InvestorClassification, KycSubmission, Membership, Organization, User
from accounts.models.verification import COUNTRIES
from accounts.request import client_ip
from accounts.tasks import email_send

log = logging.getLogger(__name__)


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
        "unavailable": _(
            "Sign-in with a password is briefly unavailable (we cannot count attempts right now). Please try again "
            "in a minute; if you are already signed in, nothing changes."
        ),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("E-mail address")

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username") or ""
        ip = (client_ip(self.request) if self.request else None) or "unknown"
        try:  # fails closed: without the counter, passwords could be guessed at full speed
            allowed = login_throttle.login_attempt_allowed(email=email, ip=ip)
        except (RedisError, OSError):
            log.warning("password sign-in refused: Redis unreachable, attempts cannot be counted")
            raise ValidationError(self.error_messages["unavailable"], code="unavailable") from None
        if not allowed:
            raise ValidationError(
                self.error_messages["locked"], code="locked", params={"minutes": login_throttle.lockout_minutes()}
            )
        cleaned = super().clean()
        with contextlib.suppress(RedisError, OSError):  # the count expires by itself
            login_throttle.login_succeeded(email=email, ip=ip)
        return cleaned

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.email_verified:
            raise ValidationError(self.error_messages["unverified"], code="unverified")


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, with the e-mail sent by a worker instead of inside the request."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        email_send.delay_on_commit(to=[to_email], subject=subject, body=body)  # type: ignore[attr-defined]


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's login form with the same lockout as the site's: staff passwords are the most valuable."""


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name"]


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("e.g. “bidding robot”"))


DOCUMENT_ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"


class IndividualKycForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput, initial=KycSubmission.Kind.INDIVIDUAL)
    legal_name = forms.CharField(label=_("Name as on your ID document"), max_length=150)
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRIES)
    id_document_type = forms.ChoiceField(label=_("ID document"), choices=KycSubmission.IdDocumentType.choices)
    id_number = forms.CharField(label=_("ID document number"), max_length=32)
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}))
    document = forms.FileField(
        label=_("Scan or photo of the ID document"),
        help_text=_("PDF, PNG or JPEG, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": DOCUMENT_ACCEPT}),
    )


class OrganizationKycForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput, initial=KycSubmission.Kind.ORGANIZATION)
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=Organization.objects.none())
    country = forms.ChoiceField(label=_("Country of registration"), choices=COUNTRIES)
    registration_number = forms.CharField(label=_("Registration number (unified social credit code)"), max_length=32)
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=150)
    document = forms.FileField(
        label=_("Registration certificate"),
        help_text=_("PDF, PNG or JPEG, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": DOCUMENT_ACCEPT}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["organization"])
        field.queryset = Organization.objects.filter(
            memberships__user=user, memberships__role=Membership.Role.OWNER
        ).exclude(kind=Organization.Kind.INDIVIDUAL)


class ClassificationForm(forms.Form):
    basis = forms.ChoiceField(
        label=_("I qualify as a professional investor because I have"),
        choices=[c for c in InvestorClassification.Basis.choices if c[0] != InvestorClassification.Basis.INSTITUTION],
        widget=forms.RadioSelect,
    )
    experience_years = forms.IntegerField(
        label=_("Years of investment experience"), min_value=0, max_value=80, initial=0
    )
    household_net_financial_assets = forms.DecimalField(
        label=_("Household net financial assets (CNY)"), min_value=0, max_digits=16, decimal_places=2, required=False
    )
    financial_assets = forms.DecimalField(
        label=_("Financial assets (CNY)"), min_value=0, max_digits=16, decimal_places=2, required=False
    )
    average_annual_income = forms.DecimalField(
        label=_("Average annual income over the last three years (CNY)"),
        min_value=0,
        max_digits=16,
        decimal_places=2,
        required=False,
    )
    evidence = forms.FileField(
        label=_("Evidence (bank or brokerage statement, tax certificate)"),
        help_text=_("PDF, PNG or JPEG, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": DOCUMENT_ACCEPT}),
    )

    def figures(self) -> dict[str, Any]:
        keys = ("experience_years", "household_net_financial_assets", "financial_assets", "average_annual_income")
        return {key: self.cleaned_data.get(key) for key in keys}


class KnowledgeTestForm(forms.Form):
    """One radio group per question of the current test, plus the net worth for the loss simulation."""

    declared_net_worth = forms.DecimalField(
        label=_("Your net worth (CNY)"),
        help_text=_("Everything you own minus what you owe. It sets your exposure cap and the loss simulation."),
        min_value=0,
        max_digits=17,
        decimal_places=2,
    )

    def __init__(self, *args: Any, questions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        net_worth = self.fields.pop("declared_net_worth")
        for question in questions:
            self.fields[f"q_{question.id}"] = forms.TypedChoiceField(
                label=question.text,
                choices=list(enumerate(question.choices)),
                coerce=int,
                widget=forms.RadioSelect,
            )
        self.fields["declared_net_worth"] = net_worth

    def answers(self) -> list[int]:
        return [self.cleaned_data[f"q_{question.id}"] for question in self.questions]


class RiskAcknowledgementForm(forms.Form):
    version = forms.CharField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(label=_("I have read this warning, I understand it, and I accept these risks."))
