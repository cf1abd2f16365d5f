"""Portfolio shapes for the REST API (no PII: debtor data never reaches these)."""

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from accounts.models import Organization
from portfolios import selectors
from portfolios.models import ImportIssue, LoanTapeImport, Portfolio, PortfolioStats

ERRORS_SHOWN = 100


class PortfolioStatsSerializer(serializers.ModelSerializer[PortfolioStats]):
    """Figures computed at import; amounts in the portfolio's currency, shares weighted by total claim."""

    class Meta:
        model = PortfolioStats
        fields = [
            "loan_count",
            "total_principal",
            "total_claim",
            "weighted_average_dpd",
            "secured_share",
            "collateral_coverage",
            "distributions",
            "computed_at",
        ]


class PortfolioSerializer(serializers.ModelSerializer[Portfolio]):
    seller = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False)
    seller_name = serializers.CharField(source="seller.name", read_only=True)
    regions = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=50)
    stats = PortfolioStatsSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Portfolio
        fields = [
            "id",
            "seller",
            "seller_name",
            "title",
            "description",
            "debt_type",
            "currency",
            "cutoff_date",
            "regions",
            "audience",
            "status",
            "rejection_reason",
            "stats",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "rejection_reason", "created_at", "updated_at"]
        extra_kwargs = {
            "title": {"required": False},
            "debt_type": {"required": False},
            "cutoff_date": {"required": False},
        }


class PortfolioFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """The browse filters that need parsing: face value (total claim) bounds."""

    min_face = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False)
    max_face = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False)


class LoanTapeUploadSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(help_text="CSV (UTF-8, comma-separated) or XLSX; one row per loan, headers first.")
    mapping = serializers.JSONField(
        required=False, binary=True, help_text='Your header → our column, as JSON: {"Contract No": "loan_id"}.'
    )


class ImportIssueSerializer(serializers.ModelSerializer[ImportIssue]):
    class Meta:
        model = ImportIssue
        fields = ["row", "column", "code", "message"]


class LoanTapeImportSerializer(serializers.ModelSerializer[LoanTapeImport]):
    error_report_url = serializers.SerializerMethodField()

    class Meta:
        model = LoanTapeImport
        fields = [
            "id",
            "portfolio",
            "status",
            "progress",
            "file_name",
            "file_format",
            "rows_read",
            "rows_with_errors",
            "error_count",
            "loans_imported",
            "error_report_url",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # Declared here: as a class attribute, `errors` would hide Serializer.errors.
        fields["errors"] = serializers.SerializerMethodField(
            method_name="first_errors", help_text=f"The first {ERRORS_SHOWN} problems; the report has them all."
        )
        return fields

    def first_errors(self, job: LoanTapeImport) -> list[dict[str, Any]]:
        return list(ImportIssueSerializer(selectors.import_issue_list(job=job)[:ERRORS_SHOWN], many=True).data)

    def get_error_report_url(self, job: LoanTapeImport) -> str:
        return reverse("api-import-errors", args=[job.pk])
