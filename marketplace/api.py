"""REST conventions shared by every app: the `{"code", "message", ...}` error shape."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from marketplace.errors import DomainError


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        return _first_message(next(iter(detail.values())))
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error as `{"code": ..., "message": ...}`; validation errors name the fields.

    Services raise Django's ValidationError and DomainError; views need not translate them.
    """
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "message": exc.message, **exc.extra}, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        field = next(iter(fields))
        body: dict[str, Any] = {
            "code": "invalid",
            "message": f"{field}: {_first_message(fields[field])}"
            if field != "non_field_errors"
            else _first_message(fields[field]),
            "field": field,
            "fields": fields,
        }
    else:
        codes = exc.get_codes()
        body = {"code": codes if isinstance(codes, str) else exc.default_code, "message": _first_message(exc.detail)}
        if isinstance(exc, exceptions.Throttled):
            body["code"] = "rate_limited"
            wait = getattr(exc, "wait", None)
            body["retry_after"] = int(wait + 0.999) if wait else None
    response.data = body
    return response
