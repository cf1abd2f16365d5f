"""REST endpoints for listings (browse, draft, edit, submit) and loan-tape imports. Services raise; the API renders."""

import csv
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.models import Organization, User
from accounts.request import client_ip
from portfolios import selectors, services
from portfolios.api.serializers import (
    DocumentSerializer,
    DocumentUploadSerializer,
    LoanTapeImportSerializer,
    LoanTapeUploadSerializer,
    MaskedLoanSerializer,
    NdaAcceptSerializer,
    NdaSerializer,
    PortfolioDetailSerializer,
    PortfolioFilterSerializer,
    PortfolioSerializer,
)
from portfolios.models import Loan, LoanTapeImport, Portfolio, PortfolioDocument
from portfolios.services import data_room, loan_tape

FILTERS = ["debt_type", "region", "status", "audience", "q"]
FACE_FILTERS = [
    OpenApiParameter(name, str, required=False, description=f"Total claim (face value) {bound}, e.g. 1000000.00")
    for name, bound in (("min_face", "at least"), ("max_face", "at most"))
]


@extend_schema_view(
    get=extend_schema(parameters=[*(OpenApiParameter(name, str, required=False) for name in FILTERS), *FACE_FILTERS])
)
class PortfolioListView(generics.ListCreateAPIView[Portfolio]):
    serializer_class = PortfolioSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]  # the services check who may write

    def get_queryset(self) -> QuerySet[Portfolio]:
        bounds = PortfolioFilterSerializer(data=self.request.query_params)
        bounds.is_valid(raise_exception=True)
        filters = {key: self.request.query_params.get(key) for key in FILTERS}
        return selectors.portfolio_list_public(filters={**filters, **bounds.validated_data})

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create a draft for a seller organization you own or trade for (`seller` may be left out if you have one)."""
        user = cast(User, request.user)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        seller = data.pop("seller", None) or _only_seller_of(user)
        portfolio = services.portfolio_create(user=user, seller=seller, data=data)
        return Response(PortfolioSerializer(portfolio).data, status=status.HTTP_201_CREATED)


def _only_seller_of(user: User) -> Organization:
    sellers = account_selectors.organizations_acted_for(user=user).filter(kind__in=Organization.SELLER_KINDS)
    if sellers.count() != 1:
        raise serializers.ValidationError({"seller": ["Say which seller organization the portfolio belongs to."]})
    return sellers.get()


class PortfolioDetailView(generics.RetrieveUpdateAPIView[Portfolio]):
    serializer_class = PortfolioDetailSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]  # the services check who may write
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Portfolio]:
        return selectors.portfolio_visible_to(user=cast(User, self.request.user))

    def perform_update(self, serializer: PortfolioDetailSerializer) -> None:  # type: ignore[override]
        data = {k: v for k, v in serializer.validated_data.items() if k != "seller"}
        serializer.instance = services.portfolio_update(
            user=cast(User, self.request.user), portfolio=cast(Portfolio, serializer.instance), data=data
        )


class PortfolioSubmitView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=PortfolioSerializer)
    def post(self, request: Request, pk: int) -> Response:
        user = cast(User, request.user)
        portfolio = get_object_or_404(selectors.portfolio_visible_to(user=user), pk=pk)
        return Response(PortfolioSerializer(services.portfolio_submit(user=user, portfolio=portfolio)).data)


class LoanTapeUploadView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(request=LoanTapeUploadSerializer, responses={202: LoanTapeImportSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Upload a loan tape to a draft; the import runs in the background: poll the job it returns."""
        user = cast(User, request.user)
        portfolio = get_object_or_404(selectors.portfolio_visible_to(user=user), pk=pk)
        upload = LoanTapeUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        job = loan_tape.loan_tape_upload(
            user=user,
            portfolio=portfolio,
            file=upload.validated_data["file"],
            mapping=upload.validated_data.get("mapping"),
        )
        body = LoanTapeImportSerializer(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": f"/api/v1/imports/{job.pk}/"})


class ImportJobView(generics.RetrieveAPIView[LoanTapeImport]):
    """An import job: status, progress (0 to 1), row counts and the first problems found."""

    serializer_class = LoanTapeImportSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[LoanTapeImport]:
        return selectors.import_job_visible_to(user=cast(User, self.request.user))


class ImportErrorReportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request, pk: int) -> HttpResponse:
        """Every stored problem of an import as CSV: row, column, code, message."""
        job = get_object_or_404(selectors.import_job_visible_to(user=cast(User, request.user)), pk=pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="loan-tape-{job.pk}-errors.csv"'
        writer = csv.writer(response)
        writer.writerow(["row", "column", "code", "message"])
        for issue in selectors.import_issue_list(job=job).iterator(chunk_size=2000):
            writer.writerow([issue.row or "", issue.column, issue.code, issue.message])
        return response


def _portfolio(request: Request, pk: int) -> Portfolio:
    return get_object_or_404(selectors.portfolio_visible_to(user=cast(User, request.user)), pk=pk)


class DocumentUploadView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(request=DocumentUploadSerializer, responses={201: DocumentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """A seller adds a document (PDF, CSV or XLSX) to their listing, `public` or for the `data_room` only."""
        upload = DocumentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        document = data_room.document_upload(
            user=cast(User, request.user), portfolio=_portfolio(request, pk), **upload.validated_data
        )
        return Response(
            DocumentSerializer(document, context={"request": request, "data_room_entries": {}}).data,
            status=status.HTTP_201_CREATED,
        )


class DocumentDownloadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, pk: int, document_pk: int) -> StreamingHttpResponse:
        """Download a document: logged, and watermarked with your identity (`kyc_required` / `nda_required` for
        data-room documents otherwise; `rate_limited` past the data-room read limit)."""
        document = get_object_or_404(PortfolioDocument, portfolio=_portfolio(request, pk), pk=document_pk)
        return download_response(
            data_room.document_download(user=cast(User, request.user), document=document, ip_address=client_ip(request))
        )


def download_response(download: data_room.Download) -> StreamingHttpResponse:
    response = StreamingHttpResponse(download.chunks, content_type=download.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.file_name.replace(chr(34), "")}"'
    response["Cache-Control"] = "private, no-store"
    if download.access.fingerprint:
        response["X-Watermark-Fingerprint"] = download.access.fingerprint
    return response


class NdaView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=NdaSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """The current NDA version and text, and when you accepted it for this portfolio (null if you have not)."""
        portfolio = _portfolio(request, pk)
        nda = data_room.nda_current()
        accepted = portfolio.nda_acceptances.filter(user=cast(User, request.user), nda=nda).first()
        return Response(
            {"version": nda.version, "text": nda.text, "accepted_at": accepted.accepted_at if accepted else None}
        )

    @extend_schema(request=NdaAcceptSerializer, responses={201: NdaSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Accept the NDA version you were shown; `nda_outdated` (409, with `current_version`) if it has changed."""
        body = NdaAcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        acceptance = data_room.nda_accept(
            user=cast(User, request.user),
            portfolio=_portfolio(request, pk),
            version=body.validated_data["version"],
            ip_address=client_ip(request),
        )
        data = {"version": acceptance.nda.version, "text": acceptance.nda.text, "accepted_at": acceptance.accepted_at}
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(parameters=[OpenApiParameter(name, str, required=False) for name in selectors.LOAN_FILTERS])
)
class LoanListView(generics.ListAPIView[Loan]):
    """The data room's loan rows, masked (pseudonyms, no identities), paginated; every page read is logged.
    403 `kyc_required` / `nda_required` for a buyer who may not enter yet."""

    serializer_class = MaskedLoanSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Loan]:
        portfolio = _portfolio(self.request, self.kwargs["pk"])
        filters = {name: self.request.query_params.get(name) for name in selectors.LOAN_FILTERS}
        shown = ", ".join(f"{k}={v}" for k, v in filters.items() if v)
        detail = f"page {self.request.query_params.get('page') or 1}" + (f"; {shown}" if shown else "")
        data_room.loans_read(
            user=cast(User, self.request.user), portfolio=portfolio, detail=detail, ip_address=client_ip(self.request)
        )
        return selectors.loan_list_masked(portfolio=portfolio, filters=filters)


class LoanExportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter(name, str, required=False) for name in selectors.LOAN_FILTERS],
        responses={(200, "text/csv"): str},
    )
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        """The data room's masked loan rows as CSV (same filters and gate as `loans/`), logged; a buyer's copy opens
        with a `#` line naming them and a fingerprint the access log keeps."""
        filters = {name: request.query_params.get(name) for name in selectors.LOAN_FILTERS}
        return download_response(
            data_room.loans_export(
                user=cast(User, request.user),
                portfolio=_portfolio(request, pk),
                filters=filters,
                ip_address=client_ip(request),
            )
        )
