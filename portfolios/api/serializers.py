"""Portfolio shapes for the REST API (no PII: debtor data never reaches these)."""

from rest_framework import serializers

from accounts.models import Organization
from portfolios.models import Portfolio


class PortfolioSerializer(serializers.ModelSerializer[Portfolio]):
    seller = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False)
    seller_name = serializers.CharField(source="seller.name", read_only=True)
    regions = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=50)

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
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "rejection_reason", "created_at", "updated_at"]
        extra_kwargs = {
            "title": {"required": False},
            "debt_type": {"required": False},
            "cutoff_date": {"required": False},
        }
