"""Request-wide middleware."""

import ipaddress
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

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
