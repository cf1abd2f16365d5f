"""Account pages: sign-up, e-mail verification, login, profile, API tokens, identity verification."""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import (
    ApiTokenForm,
    ClassificationForm,
    IndividualKycForm,
    KnowledgeTestForm,
    LoginForm,
    OrganizationKycForm,
    ProfileForm,
    QueuedPasswordResetForm,
    ResendVerificationForm,
    RiskAcknowledgementForm,
    SignUpForm,
)
from accounts.mail_throttle import email_form_allowed
from accounts.models import InvestorClassification, KycSubmission, User
from accounts.request import client_ip


def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            email_form_allowed(form="signup", email=form.cleaned_data["email"], ip=client_ip(request))
            user = services.user_sign_up(**form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                field_errors = exc.message_dict
            elif getattr(exc, "code", None) == "rate_limited":
                field_errors = {"__all__": exc.messages}
            else:  # password validators raise a plain list
                field_errors = {"password": exc.messages}
            for field, errors in field_errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return render(request, "accounts/signup_done.html", {"email": user.email})
    return render(request, "accounts/signup.html", {"form": form})


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.user_verify_email(token=token)
    except services.AccountError as exc:
        return render(
            request,
            "accounts/verify_failed.html",
            {"message": exc.message, "form": ResendVerificationForm()},
            status=400,
        )
    messages.success(request, _("Your e-mail address is confirmed. You can sign in now."))
    return redirect("accounts:login")


def resend_verification(request: HttpRequest) -> HttpResponse:
    form = ResendVerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            email_form_allowed(form="resend", email=form.cleaned_data["email"], ip=client_ip(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            services.user_resend_verification(email=form.cleaned_data["email"])
            # The same answer whether or not the address exists, so the form cannot probe for accounts.
            return render(request, "accounts/signup_done.html", {"email": form.cleaned_data["email"]})
    return render(request, "accounts/resend_verification.html", {"form": form})


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    form_class = QueuedPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            email_form_allowed(form="password-reset", email=form.cleaned_data["email"], ip=client_ip(self.request))
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(user=user, full_name=form.cleaned_data["full_name"])
        messages.success(request, _("Your profile is saved."))
        return redirect("accounts:profile")
    return _render_profile(request, user, profile_form=form)


def _render_profile(
    request: HttpRequest,
    user: User,
    *,
    profile_form: ProfileForm | None = None,
    token_form: ApiTokenForm | None = None,
    new_key: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "profile_form": profile_form or ProfileForm(instance=user),
        "token_form": token_form or ApiTokenForm(),
        "tokens": selectors.api_token_list(user=user),
        "memberships": selectors.membership_list(user=user),
        "new_key": new_key,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = services.api_token_create(user=user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", exc.message_dict.get("name", exc.messages))
        else:
            messages.success(
                request, _("Token “%(name)s” created. Copy it now: it will not be shown again.") % {"name": token.name}
            )
            return _render_profile(request, user, new_key=key)
    return _render_profile(request, user, token_form=form, status=400)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(selectors.api_token_list(user=request.user), pk=pk)  # type: ignore[arg-type]
    services.api_token_revoke(token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:profile")


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@login_required
def verification(request: HttpRequest) -> HttpResponse:
    """Identity verification and investor classification: status, the reason for a rejection, the forms."""
    user = cast(User, request.user)
    posted = request.POST.get("kind") if request.method == "POST" else None

    def data_for(name: str) -> dict[str, Any]:
        """Only the form that was posted is bound, so the others do not show errors."""
        return {"data": request.POST, "files": request.FILES} if posted == name else {}

    individual = IndividualKycForm(**data_for("individual"))
    organization = OrganizationKycForm(**data_for("organization"), user=user)
    classification = ClassificationForm(**data_for("classification"))
    bound = {"individual": individual, "organization": organization, "classification": classification}.get(posted or "")
    if bound is not None and bound.is_valid():
        try:
            if posted == "classification":
                services.classification_request(
                    user=user,
                    basis=classification.cleaned_data["basis"],
                    figures=classification.figures(),
                    evidence=classification.cleaned_data["evidence"],
                    ip=client_ip(request),
                )
                messages.success(request, _("Your request is submitted. Staff will review your evidence."))
            else:
                data = {k: v for k, v in bound.cleaned_data.items() if k not in {"kind", "document"}}
                services.kyc_submit(
                    user=user,
                    kind=posted or "",
                    data=data,
                    document=bound.cleaned_data["document"],
                    ip=client_ip(request),
                )
                messages.success(request, _("Thank you. We review identity documents within one working day."))
            return redirect("accounts:verification")
        except ValidationError as exc:
            _add_errors(bound, exc)
        except services.AccountError as exc:
            messages.error(request, exc.message)
    context = {
        "kyc_status": selectors.kyc_status(user=user),
        "kyc": selectors.kyc_latest(user=user),
        "investor_class": selectors.investor_class(user=user),
        "classification": selectors.classification_latest(user=user),
        "individual_form": individual,
        "organization_form": organization,
        "classification_form": classification,
        "can_submit_organization": organization.fields["organization"].queryset.exists(),  # type: ignore[attr-defined]
        "open_form": posted or "",
    }
    return render(request, "accounts/verification.html", context, status=400 if bound is not None else 200)


PRIVATE_DOCUMENT_MODELS: dict[str, type[KycSubmission] | type[InvestorClassification]] = {
    "kyc": KycSubmission,
    "classification": InvestorClassification,
}


@login_required
def private_document(request: HttpRequest, kind: str, pk: int) -> FileResponse:
    """A KYC or classification document, for its owner and staff only; always a download, never rendered inline."""
    model = PRIVATE_DOCUMENT_MODELS.get(kind)
    if model is None:
        raise Http404
    record = cast(KycSubmission | InvestorClassification, get_object_or_404(model, pk=pk))
    user = cast(User, request.user)
    if record.user_id != user.pk:
        if not user.has_perm(f"accounts.view_{model._meta.model_name}"):
            raise Http404
        services.decision_record(
            user=record.user, kind="document_viewed", actor=user, ip=client_ip(request), document=f"{kind}/{pk}"
        )
    file = record.document if isinstance(record, KycSubmission) else record.evidence
    if not file or not file.name:
        raise Http404
    response = FileResponse(file.open("rb"), as_attachment=True, filename=file.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def suitability(request: HttpRequest) -> HttpResponse:
    """The retail buyer's path to a first bid: knowledge test and loss simulation, risk warning, reflection."""
    user = cast(User, request.user)
    test = selectors.knowledge_test()
    warning = selectors.risk_warning_current()
    step = request.POST.get("step") if request.method == "POST" else None
    test_form = KnowledgeTestForm(request.POST if step == "test" else None, questions=test.questions)
    ack_form = RiskAcknowledgementForm(request.POST if step == "ack" else None, initial={"version": warning.version})
    failed_attempt = None
    if step == "test" and test_form.is_valid():
        try:
            assessment = services.knowledge_test_submit(
                user=user,
                answers=test_form.answers(),
                declared_net_worth=test_form.cleaned_data["declared_net_worth"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            _add_errors(test_form, exc)
        except services.AccountError as exc:
            messages.error(request, exc.message)
        else:
            if assessment.passed:
                return redirect("accounts:suitability")
            failed_attempt = assessment
    if step == "ack" and ack_form.is_valid():
        try:
            services.risk_warning_acknowledge(
                user=user, version=ack_form.cleaned_data["version"], ip=client_ip(request)
            )
        except ValidationError as exc:
            _add_errors(ack_form, exc)
        except services.AccountError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("accounts:suitability")
    passed = selectors.suitability_passed(user=user)
    cap = selectors.exposure_cap(user=user)
    context = {
        "state": selectors.suitability(user=user),
        "investor_class": selectors.investor_class(user=user),
        "test": test,
        "test_form": test_form,
        "failed_attempt": failed_attempt,
        "warning": warning,
        "ack_form": ack_form,
        "passed": passed,
        "cap": cap,
        "simulation": selectors.loss_simulation(user=user),
        "reflection_days": settings.SUITABILITY_REFLECTION_DAYS,
    }
    status = 400 if step and not (failed_attempt or test_form.is_valid() or ack_form.is_valid()) else 200
    return render(request, "accounts/suitability.html", context, status=status)
