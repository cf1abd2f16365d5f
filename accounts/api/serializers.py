"""Serializers for /api/v1/me/ and API tokens."""

from rest_framework import serializers

from accounts.models import ApiToken, Membership, User


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

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "email_verified", "is_staff", "date_joined", "organizations"]
        read_only_fields = ["id", "email", "email_verified", "is_staff", "date_joined"]


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="The token itself. Shown only in this response.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
