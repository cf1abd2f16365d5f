"""REST endpoints for the signed-in user: /me/ and API tokens."""

from typing import cast

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenSerializer,
    KycSubmissionSerializer,
    MeSerializer,
)
from accounts.models import User
from accounts.request import client_ip


def _user(request: Request) -> User:
    return cast(User, request.user)  # every view here requires authentication


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(_user(request)).data)

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request: Request) -> Response:
        serializer = MeSerializer(_user(request), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        if "full_name" in serializer.validated_data:
            user = services.user_profile_update(user=user, full_name=serializer.validated_data["full_name"])
        return Response(MeSerializer(user).data)


class TokenListView(APIView):
    # A leaked key must not be able to mint successors that outlive its revocation.
    authentication_classes = [SessionAuthentication]

    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(ApiTokenSerializer(selectors.api_token_list(user=_user(request)), many=True).data)

    @extend_schema(request=ApiTokenSerializer, responses={201: ApiTokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        serializer = ApiTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = services.api_token_create(user=_user(request), name=serializer.validated_data["name"])
        token.key = key  # type: ignore[attr-defined]
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    authentication_classes = [SessionAuthentication]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        token = get_object_or_404(selectors.api_token_list(user=_user(request)), pk=pk)
        services.api_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class KycView(APIView):
    """Your identity verification: status and submissions (GET); submit for review (POST, multipart)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        responses=inline_serializer(
            "KycState",
            {
                "status": serializers.ChoiceField(choices=["unverified", "pending", "approved", "rejected"]),
                "submissions": KycSubmissionSerializer(many=True),
            },
        )
    )
    def get(self, request: Request) -> Response:
        user = _user(request)
        submissions = user.kyc_submissions.order_by("-submitted_at")
        return Response(
            {
                "status": selectors.kyc_status(user=user),
                "submissions": KycSubmissionSerializer(submissions, many=True).data,
            }
        )

    @extend_schema(request=KycSubmissionSerializer, responses={201: KycSubmissionSerializer})
    def post(self, request: Request) -> Response:
        serializer = KycSubmissionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        document, kind = data.pop("document"), data.pop("kind")
        submission = services.kyc_submit(
            user=_user(request), kind=kind, data=data, document=document, ip=client_ip(request)
        )
        return Response(KycSubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)
