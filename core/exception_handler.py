"""Renders every API error, DRF's own included, in the envelope."""

import logging
from typing import Any

from boto3.exceptions import S3TransferFailedError, S3UploadFailedError
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import ApiError, envelope

logger = logging.getLogger(__name__)


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """['field: message', ...] from DRF's nested ValidationError detail."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            lines += _flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name)
        return lines
    if isinstance(detail, list):
        lines = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            lines += _flatten(value, f"{prefix}[{index}]" if nested else prefix)
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


# Object storage (S3) not answering, or answering with its own failure: the request cannot be done
# now, but nothing about it is wrong; the client may retry later.
STORAGE_UNAVAILABLE_ERRORS = (
    BotoConnectionError,
    HTTPClientError,
    S3UploadFailedError,
    S3TransferFailedError,
)


def _is_storage_unavailable(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return isinstance(exc, STORAGE_UNAVAILABLE_ERRORS)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError(code="request_too_large", message=str(exc), status_code=413)
    elif _is_storage_unavailable(exc):
        logger.warning("storage unavailable: %s", exc)
        exc = ApiError(
            code="storage_unavailable",
            message="File storage is unavailable; nothing was stored. Retry later.",
            status_code=503,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a real bug, left to Django's 500 handling and logging
    assert isinstance(exc, exceptions.APIException)  # DRF's handler answers nothing else
    if isinstance(exc, ApiError):
        body = envelope(exc.error_code, str(exc.detail), exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = envelope("invalid", "; ".join(_flatten(exc.detail)), details)
    else:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        code = codes if isinstance(codes, str) else "error"
        body = envelope(code, str(exc.detail))
    response.data = body
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for pages; the envelope for /api/ paths no route matched (bad ids included)."""
    if _is_api(request):
        return JsonResponse(envelope("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(envelope("server_error", "Internal server error."), status=500)
    return defaults.server_error(request)
