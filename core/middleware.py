"""Request-wide middleware."""

import ipaddress
import re
import tempfile
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import envelope

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class RequestIdMiddleware:
    """Give every request an id (echoing a well-formed incoming X-Request-ID) and return it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # Kalkula's own attribute
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ForwardedForMiddleware:
    """Behind TRUSTED_PROXY_COUNT reverse proxies, REMOTE_ADDR is the nearest proxy: take the
    client's address from X-Forwarded-For instead, so the request log, the rate limiter and the
    download audit see who asked. Each proxy appends the address it was reached from, so the
    client is that many entries from the right; entries further left are the client's own claim
    and are never trusted. With no proxies configured (the default) the header is ignored."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if proxies := settings.TRUSTED_PROXY_COUNT:
            client = forwarded_client(request.headers.get("X-Forwarded-For", ""), proxies=proxies)
            if client is not None:
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)


def forwarded_client(header: str, *, proxies: int) -> str | None:
    """The address `proxies` entries from the right of an X-Forwarded-For value; None when the
    header has fewer entries (the request did not come through every proxy) or that entry is not
    an IP address."""
    entries = [entry.strip() for entry in header.split(",")] if header else []
    if len(entries) < proxies:
        return None
    try:
        return str(ipaddress.ip_address(entries[-proxies]))
    except ValueError:
        return None


# Room beyond the largest file for a multipart body's part headers and small fields.
CHUNKED_BODY_OVERHEAD = 1024 * 1024
CHUNKED_READ_SIZE = 1024 * 1024


class ChunkedBodyMiddleware:
    """A body sent with `Transfer-Encoding: chunked` has no Content-Length, and Django and DRF
    read a body without one as empty. gunicorn decodes the chunks and ends `wsgi.input` at the
    body's end (`wsgi.input_terminated`); ASGI servers hand Django the whole body. So such a body
    is spooled to a temporary file (memory stays flat; more than the largest upload plus room for
    the form fields answers 413 while it arrives) and the request gets its length."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if (
            meta.get("CONTENT_LENGTH")
            or "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            return self.get_response(request)
        if isinstance(request, ASGIRequest):
            source = request._stream
        elif meta.get("wsgi.input_terminated"):
            source = meta["wsgi.input"]
        else:  # a WSGI server that cannot say where the body ends: read as before
            return self.get_response(request)
        limit = settings.EVIDENCE_MAX_UPLOAD_BYTES + CHUNKED_BODY_OVERHEAD
        spool = tempfile.TemporaryFile()
        size = 0
        while chunk := source.read(CHUNKED_READ_SIZE):
            size += len(chunk)
            if size > limit:
                spool.close()
                return JsonResponse(
                    envelope(
                        "request_too_large",
                        f"The request body is larger than the limit of {limit} bytes.",
                        {"max_bytes": limit},
                    ),
                    status=413,
                )
            spool.write(chunk)
        spool.seek(0)
        meta["CONTENT_LENGTH"] = str(size)
        # Django's own request internals: the body is read again from the spool.
        request._stream = LimitedStream(spool, size)  # type: ignore[assignment, arg-type]
        request._read_started = False  # type: ignore[attr-defined]
        response = self.get_response(request)
        response._resource_closers.append(spool.close)  # type: ignore[attr-defined]
        return response
