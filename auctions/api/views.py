"""REST endpoints for auctions: browse, snapshot, ledger, bids, proxy bids, events. Services raise; the API error
handler renders `{code, message}`."""

from typing import Any, cast

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from auctions import selectors, services
from auctions.api import schema
from auctions.api.serializers import AuctionCreateSerializer, BidSerializer, ProxyBidSerializer, RelistSerializer
from auctions.models import Auction, Bid
from marketplace.errors import DomainError
from marketplace.openapi import ERRORS

FILTERS = ["status", "format", "ending_before"]
MAX_BID_BODY = 4096
IDEMPOTENCY_KEY_LENGTH = 64
EVENT_PAGE = 1000  # events per answer of the events endpoint


def _viewer(request: Request) -> User | None:
    return request.user if request.user.is_authenticated else None


def _small_json_object(request: Request) -> dict[str, Any]:
    """Bid bodies are tiny: refuse a big one before parsing it, and anything but a JSON object."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BID_BODY:
        raise DomainError("payload_too_large", "A bid request is at most 4 KiB.", http_status=413)
    if not isinstance(request.data, dict):
        raise DomainError("invalid", "Send a JSON object.", http_status=400)
    return request.data


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > IDEMPOTENCY_KEY_LENGTH:
        raise DomainError("invalid", "Idempotency-Key is at most 64 characters.", http_status=400)
    return key


class AuctionListView(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]  # the services check who may write

    @extend_schema(
        operation_id="v1_auctions_list",
        parameters=[OpenApiParameter(name, str, required=False) for name in FILTERS],
        responses={200: schema.AuctionPageSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        auctions = selectors.auction_list(filters={name: request.query_params.get(name) for name in FILTERS})
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(auctions, request, view=self) or []
        return paginator.get_paginated_response([selectors.snapshot(auction=a) for a in page])

    @extend_schema(request=AuctionCreateSerializer, responses={201: schema.SnapshotSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        """The seller puts an approved portfolio up for auction."""
        serializer = AuctionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        auction = services.auction_create(
            user=cast(User, request.user),
            portfolio=serializer.validated_data["portfolio"],
            data=serializer.to_service(),
        )
        return Response(selectors.snapshot(auction=auction, user=_viewer(request)), status=status.HTTP_201_CREATED)


class AuctionDetailView(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]  # the services check who may write

    @extend_schema(responses={200: schema.SnapshotSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        auction = get_object_or_404(selectors.auction_list(), pk=pk)
        return Response(selectors.snapshot(auction=auction, user=_viewer(request)))


class BidListView(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]  # the services check who may write

    @extend_schema(
        parameters=[OpenApiParameter("since_seq", int, required=False), OpenApiParameter("limit", int, required=False)],
        responses={200: schema.LedgerSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        """The public ledger: `seq`, `amount`, `bidder` alias, `placed_at`, `kind` (nothing while sealed bids run)."""
        auction = get_object_or_404(Auction, pk=pk)
        since, limit = _int(request, "since_seq", 0), min(_int(request, "limit", 500), 1000)
        bids = selectors.bid_list(auction=auction).filter(seq__gt=since)[:limit]
        return Response({"auction": auction.pk, "results": [selectors.ledger_entry(bid=bid) for bid in bids]})

    @extend_schema(
        request=BidSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={201: schema.BidOutcomeSerializer, **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Bid `amount`; 201 with the ledger entries it caused and the new snapshot, or a 4xx bid error code."""
        body = _small_json_object(request)
        outcome = services.bid_place(
            user=cast(User, request.user),
            auction_id=pk,
            amount=body.get("amount"),
            request_key=_idempotency_key(request),
        )
        return Response(_outcome_json(outcome, request), status=status.HTTP_201_CREATED)


def _outcome_json(outcome: services.BidOutcome, request: Request) -> dict[str, Any]:
    """The bid's ledger entries and the auction as the bid left it; a replay reads both again."""
    if outcome.position is not None:  # made by this request: its bids are new (not voided), its row is current
        entries = [selectors.ledger_entry(bid=bid, voided=False) for bid in outcome.bids]
        auction = outcome.auction
    else:
        bids = Bid.objects.filter(pk__in=[b.pk for b in outcome.bids]).select_related("participant").order_by("seq")
        entries = [selectors.ledger_entry(bid=bid) for bid in bids]
        auction = selectors.auction_get(auction_id=outcome.auction.pk)
    return {
        "bid": entries[0] if entries else None,
        "bids": entries,
        "replayed": outcome.replayed,
        "auction": selectors.snapshot(auction=auction, user=_viewer(request), position=outcome.position),
    }


class ProxyBidView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ProxyBidSerializer, responses={200: schema.BidOutcomeSerializer, **ERRORS})
    def put(self, request: Request, pk: int) -> Response:
        body = _small_json_object(request)
        outcome = services.proxy_bid_set(
            user=cast(User, request.user), auction_id=pk, max_amount=body.get("max_amount")
        )
        return Response(_outcome_json(outcome, request))


class EventListView(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]  # the services check who may write

    @extend_schema(
        parameters=[OpenApiParameter("since_seq", int, required=False)],
        responses={200: schema.EventsSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        """Every event after `since_seq`, in order (at most EVENT_PAGE per call: `has_more` says to ask again from
        the last one's `seq`)."""
        auction = get_object_or_404(Auction, pk=pk)
        events = selectors.event_list(auction=auction, since_seq=_int(request, "since_seq", 0), limit=EVENT_PAGE + 1)
        page = {"auction": auction.pk, "seq": auction.seq, "events": events[:EVENT_PAGE]}
        return Response({**page, "has_more": len(events) > EVENT_PAGE})


class RelistView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RelistSerializer, responses={201: schema.SnapshotSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        """Offer an unsold lot again as the next round, starting at most 20 % lower."""
        previous = get_object_or_404(Auction, pk=pk)
        serializer = RelistSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        auction = services.auction_relist(user=cast(User, request.user), auction=previous, data=serializer.to_service())
        return Response(selectors.snapshot(auction=auction, user=_viewer(request)), status=status.HTTP_201_CREATED)


class MyBidsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: schema.MyBidPageSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """Your bids, newest first, with the auction each belongs to."""
        bids: QuerySet[Bid] = (
            Bid.objects.filter(bidder=cast(User, request.user))
            .select_related("participant", "void")
            .order_by("-placed_at")
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(bids, request, view=self) or []
        return paginator.get_paginated_response(
            [{"auction": bid.auction_id, **selectors.ledger_entry(bid=bid)} for bid in page]
        )


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):  # "²" is a digit to str.isdigit, not to int()
        raise DomainError("invalid", f"{name} must be a non-negative integer.", http_status=400, field=name)
    return int(raw)
