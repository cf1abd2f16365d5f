"""Admin for listings: the moderation queue, each listing's event log, its loans (pseudonyms only), tape imports."""

from typing import Any

from django.contrib import admin
from django.db.models import Case, Value, When
from django.http import HttpRequest

from marketplace.admin_actions import ReadOnlyAdmin, ServiceOnlyAdmin, action_with_reason
from portfolios import services
from portfolios.models import (
    DataRoomAccess,
    ImportIssue,
    Loan,
    LoanTapeImport,
    NdaAcceptance,
    NdaVersion,
    Portfolio,
    PortfolioDocument,
    PortfolioEvent,
)


class PortfolioEventInline(admin.TabularInline[PortfolioEvent, Portfolio]):
    model = PortfolioEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "from_status", "to_status", "actor", "reason")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Portfolio)
class PortfolioAdmin(ServiceOnlyAdmin):
    """Listing content is the seller's: staff decide through the actions; listings are withdrawn, never deleted."""

    list_display = ["title", "seller", "debt_type", "audience", "status", "currency", "cutoff_date", "updated_at"]
    list_filter = ["status", "debt_type", "audience", "seller"]
    search_fields = ["title", "description", "seller__name"]
    inlines = [PortfolioEventInline]
    actions = [
        action_with_reason(
            description="Approve listing",
            act=lambda p, reviewer, reason: services.portfolio_review(portfolio=p, reviewer=reviewer, approve=True),
            reason_required=False,
        ),
        action_with_reason(
            description="Reject listing",
            act=lambda p, reviewer, reason: services.portfolio_review(
                portfolio=p, reviewer=reviewer, approve=False, reason=reason
            ),
        ),
    ]

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        submitted_first = Case(When(status=Portfolio.Status.SUBMITTED, then=Value(0)), default=Value(1))
        return [submitted_first.asc(), "-updated_at"]


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    """Loans by pseudonym: the debtors' identities stay in the vault, which has no admin."""

    list_display = [
        "loan_id",
        "debtor",
        "portfolio",
        "region",
        "total_claim",
        "currency",
        "days_past_due",
        "legal_status",
    ]
    list_filter = ["legal_status", "borrower_type", "collateral_type"]
    search_fields = ["=loan_id", "=debtor"]
    list_select_related = ["portfolio"]
    show_full_result_count = False  # tapes run to millions of rows
    exclude = ["title_hash"]


class ImportIssueInline(admin.TabularInline[ImportIssue, LoanTapeImport]):
    model = ImportIssue
    fields = readonly_fields = ("row", "column", "code", "message")
    extra = 0
    can_delete = False
    max_num = 0
    classes = ["collapse"]


@admin.register(LoanTapeImport)
class LoanTapeImportAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "portfolio", "status", "progress", "rows_read", "error_count", "created_at"]
    list_filter = ["status", "file_format"]
    list_select_related = ["portfolio"]
    exclude = ["file"]
    inlines = [ImportIssueInline]


@admin.register(NdaVersion)
class NdaVersionAdmin(admin.ModelAdmin[NdaVersion]):
    """Staff publish a new NDA version as a new row; buyers must then accept it again. Versions are never edited."""

    list_display = ["version", "published_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["version", "text", "published_at"] if obj else ["published_at"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        latest = NdaVersion.objects.order_by("-version").first()
        return {"version": latest.version + 1 if latest else 1, "text": latest.text if latest else ""}

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(NdaAcceptance)
class NdaAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["accepted_at", "user", "portfolio", "nda", "ip_address"]
    list_filter = ["nda"]
    search_fields = ["user__email", "portfolio__title"]
    list_select_related = ["user", "portfolio", "nda"]


@admin.register(DataRoomAccess)
class DataRoomAccessAdmin(ReadOnlyAdmin):
    """The append-only access log: every loan page read and document download in a data room."""

    list_display = ["created_at", "user", "portfolio", "action", "detail", "fingerprint", "ip_address"]
    list_filter = ["action"]
    search_fields = ["user__email", "portfolio__title", "=fingerprint"]
    list_select_related = ["user", "portfolio"]
    show_full_result_count = False


@admin.register(PortfolioDocument)
class PortfolioDocumentAdmin(ReadOnlyAdmin):
    list_display = ["title", "portfolio", "kind", "visibility", "file_format", "size", "uploaded_at"]
    list_filter = ["kind", "visibility", "file_format"]
    list_select_related = ["portfolio"]
    exclude = ["file"]
