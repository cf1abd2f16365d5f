"""Admin (staff only): users, organizations, memberships, tokens, and the verification moderation queues."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Case, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import (
    AccountDecision,
    ApiToken,
    InvestorClassification,
    KycSubmission,
    Membership,
    Organization,
    RelatedPartyFlag,
    ReviewStatus,
    User,
)
from marketplace.admin_actions import action_with_reason


class MembershipInline(admin.TabularInline[Membership, Any]):
    """Shown for reference; members are added and changed under Memberships, where each change is logged."""

    model = Membership
    extra = 0
    fields = readonly_fields = ("user", "organization", "role", "created_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AdminUserCreationForm(UserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)


class AdminUserChangeForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "email_verified_at", "is_active", "is_suspended", "is_staff", "date_joined"]
    list_filter = [
        "is_active",
        "is_suspended",
        "is_staff",
        "is_superuser",
        ("email_verified_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["email", "full_name", "organizations__name"]
    readonly_fields = ["date_joined", "last_login", "is_suspended"]
    inlines = [MembershipInline]
    actions = [
        action_with_reason(
            description="Suspend from bidding",
            act=lambda user, actor, reason: services.user_suspend(
                user=user, actor=actor, suspended=True, reason=reason
            ),
        ),
        action_with_reason(
            description="Reinstate",
            act=lambda user, actor, reason: services.user_suspend(
                user=user, actor=actor, suspended=False, reason=reason
            ),
        ),
    ]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "email_verified_at", "is_suspended")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ["name", "kind", "registration_number", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "registration_number", "members__email"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """What verification approved stays as approved: a new kind or number means a new KYC submission."""
        verified = obj is not None and obj.kyc_submissions.filter(status=ReviewStatus.APPROVED).exists()
        return ["name", "kind", "registration_number"] if verified else []


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user", "organization"] if obj is not None else []  # a change is a new role, not a new person

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        saved = services.membership_set(
            user=obj.user,
            organization=obj.organization,
            role=obj.role,
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove(membership=obj, actor=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset:
            self.delete_model(request, membership)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__email"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by their owner, who alone sees the key

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.api_token_revoke(token=token)
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": queryset.count()}, messages.SUCCESS)


def _document_link(kind: str, pk: int | None) -> str:
    if pk is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse("accounts:private-document", args=[kind, pk]), _("download"))


class ReviewQueueAdmin(admin.ModelAdmin[Any]):
    """Pending first, oldest first: the moderation queue. Decisions go through services, never by editing."""

    list_filter = ["status"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user"]

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        pending_first = Case(When(status=ReviewStatus.PENDING, then=Value(0)), default=Value(1))
        return [pending_first.asc(), "submitted_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields if field.name not in {"document", "evidence"}] + [
            "document_link"
        ]


@admin.register(KycSubmission)
class KycSubmissionAdmin(ReviewQueueAdmin):
    list_display = ["user", "kind", "legal_name", "organization", "country", "status", "submitted_at", "reviewed_by"]
    list_filter = ["status", "kind", "country"]
    search_fields = ["user__email", "legal_name", "id_number", "registration_number", "organization__name"]
    exclude = ["document"]
    actions = [
        action_with_reason(
            description="Approve identity",
            act=lambda s, reviewer, reason: services.kyc_review(submission=s, reviewer=reviewer, approve=True),
            reason_required=False,
        ),
        action_with_reason(
            description="Reject identity",
            act=lambda s, reviewer, reason: services.kyc_review(
                submission=s, reviewer=reviewer, approve=False, reason=reason
            ),
        ),
    ]

    @admin.display(description=_("document"))
    def document_link(self, obj: KycSubmission) -> str:
        return _document_link("kyc", obj.pk)


@admin.register(InvestorClassification)
class InvestorClassificationAdmin(ReviewQueueAdmin):
    list_display = ["user", "basis", "status", "submitted_at", "decided_by", "valid_until"]
    list_filter = ["status", "basis"]
    exclude = ["evidence"]
    actions = [
        action_with_reason(
            description="Confirm professional",
            act=lambda c, reviewer, reason: services.classification_decide(
                classification=c, reviewer=reviewer, confirm=True
            ),
            reason_required=False,
        ),
        action_with_reason(
            description="Reject classification",
            act=lambda c, reviewer, reason: services.classification_decide(
                classification=c, reviewer=reviewer, confirm=False, reason=reason
            ),
        ),
    ]

    @admin.display(description=_("evidence"))
    def document_link(self, obj: InvestorClassification) -> str:
        return _document_link("classification", obj.pk) if obj.evidence else "—"


@admin.register(RelatedPartyFlag)
class RelatedPartyFlagAdmin(admin.ModelAdmin[RelatedPartyFlag]):
    list_display = ["user", "seller", "relation", "flagged_by", "created_at"]
    list_filter = ["relation"]
    search_fields = ["user__email", "seller__name", "note"]
    autocomplete_fields = ["user", "seller"]
    fields = ["user", "seller", "relation", "note"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # flags are added, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # lifting a bidding ban silently is not allowed; see the issue note

    def save_model(self, request: HttpRequest, obj: RelatedPartyFlag, form: Any, change: bool) -> None:
        flag = services.related_party_flag(
            user=obj.user,
            seller=obj.seller,
            relation=obj.relation,
            note=obj.note,
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk = flag.pk


@admin.register(AccountDecision)
class AccountDecisionAdmin(admin.ModelAdmin[AccountDecision]):
    """The audit trail: readable by staff, changed by nobody."""

    list_display = ["created_at", "kind", "user", "actor", "reason", "ip_address"]
    list_filter = ["kind"]
    search_fields = ["user__email", "actor__email", "reason"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
