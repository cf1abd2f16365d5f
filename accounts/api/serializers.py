"""Serializers for /api/v1/me/ and API tokens."""

from rest_framework import serializers

from accounts import selectors
from accounts.models import ApiToken, KycSubmission, Membership, Organization, User


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    id = serializers.IntegerField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    kind = serializers.CharField(source="organization.kind")
    is_seller = serializers.BooleanField(source="organization.is_seller")

    class Meta:
        model = Membership
        fields = ["id", "name", "kind", "is_seller", "role"]


class MeSerializer(serializers.ModelSerializer[User]):
    organizations = MembershipSerializer(source="memberships", many=True, read_only=True)
    kyc_status = serializers.SerializerMethodField()
    investor_class = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "email_verified",
            "is_staff",
            "is_suspended",
            "date_joined",
            "organizations",
            "kyc_status",
            "investor_class",
        ]
        read_only_fields = ["id", "email", "email_verified", "is_staff", "is_suspended", "date_joined"]

    def get_kyc_status(self, user: User) -> str:
        return selectors.kyc_status(user=user)

    def get_investor_class(self, user: User) -> str:
        return selectors.investor_class(user=user)


class KycSubmissionSerializer(serializers.ModelSerializer[KycSubmission]):
    """Reads back a submission without the document itself; writes are validated by the service."""

    document = serializers.FileField(write_only=True)
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False)
    date_of_birth = serializers.DateField(required=False)

    class Meta:
        model = KycSubmission
        fields = [
            "id",
            "kind",
            "legal_name",
            "id_document_type",
            "id_number",
            "date_of_birth",
            "country",
            "organization",
            "registration_number",
            "legal_representative",
            "document",
            "document_content_type",
            "status",
            "rejection_reason",
            "submitted_at",
            "reviewed_at",
        ]
        read_only_fields = ["id", "document_content_type", "status", "rejection_reason", "submitted_at", "reviewed_at"]


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="The token itself. Shown only in this response.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
