"""Portfolio shapes for the REST API (no PII: debtor data never reaches these)."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organization
from portfolios import selectors
from portfolios.models import ImportIssue, Loan, LoanTapeImport, Portfolio, PortfolioDocument, PortfolioStats
from portfolios.services import data_room

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


class DocumentSerializer(serializers.ModelSerializer[PortfolioDocument]):
    """A document as listed on the card: a download URL only for a viewer who may read it."""

    download_url = serializers.SerializerMethodField()

    class Meta:
        model = PortfolioDocument
        fields = ["id", "title", "kind", "visibility", "file_format", "size", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, document: PortfolioDocument) -> str | None:
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return None
        if document.visibility != PortfolioDocument.Visibility.PUBLIC:
            entries = self.context.get("data_room_entries")
            if entries is None:  # asked once per response, not per document
                return None
            if document.portfolio_id not in entries:
                entries[document.portfolio_id] = data_room.data_room_entry(
                    user=request.user, portfolio=document.portfolio
                )
            if entries[document.portfolio_id].code is not None:
                return None
        return reverse("api-portfolio-document", args=[document.portfolio_id, document.pk])


class DocumentUploadSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(help_text="PDF, CSV (UTF-8) or XLSX.")
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=PortfolioDocument.Kind.choices)
    visibility = serializers.ChoiceField(
        choices=PortfolioDocument.Visibility.choices, default=PortfolioDocument.Visibility.DATA_ROOM
    )


class NdaSerializer(serializers.Serializer[dict[str, Any]]):
    version = serializers.IntegerField(read_only=True)
    text = serializers.CharField(read_only=True)
    accepted_at = serializers.DateTimeField(read_only=True, allow_null=True)


class NdaAcceptSerializer(serializers.Serializer[dict[str, Any]]):
    version = serializers.IntegerField(min_value=1, help_text="The NDA version you were shown (GET this resource).")


class MaskedLoanSerializer(serializers.ModelSerializer[Loan]):
    """A loan in the data room: the debtor is a pseudonym; no identity field exists here to leak."""

    class Meta:
        model = Loan
        fields = selectors.MASKED_LOAN_FIELDS
        read_only_fields = fields


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


class PortfolioDetailSerializer(PortfolioSerializer):
    """The public card: the listing plus its documents (title, kind, size; a URL only for who may read them)."""

    documents = serializers.SerializerMethodField()

    class Meta(PortfolioSerializer.Meta):
        fields = [*PortfolioSerializer.Meta.fields, "documents"]

    @extend_schema_field(DocumentSerializer(many=True))
    def get_documents(self, portfolio: Portfolio) -> list[dict[str, Any]]:
        documents = selectors.document_list(portfolio=portfolio)
        context = {**self.context, "data_room_entries": {}}
        return list(DocumentSerializer(documents, many=True, context=context).data)


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
