"""Middleware for API requests: the request log and the RateLimit-* headers."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tenants.models import ApiKey
from tenants.request_log import Entry, request_log_record

API_PREFIX = "/api/"


class RequestLogMiddleware:
    """Queue every API request that acted for a tenant into that tenant's request log. Requests
    that never reached a tenant (no or bad credentials) have no log to go to."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        created_at = timezone.now()
        started = time.perf_counter_ns()
        response = self.get_response(request)
        duration_ns = time.perf_counter_ns() - started
        # Set by tenants.context for tenant views; by DRF's authentication for any API view.
        context = getattr(request, "tenant_context", None)
        if context is not None:
            tenant_id = context.tenant.pk
            api_key_id = context.api_key.pk if context.api_key else None
            user_id = context.user.pk if context.user else None
        elif isinstance(auth := getattr(request, "auth", None), ApiKey):
            tenant_id, api_key_id, user_id = auth.tenant_id, auth.pk, None
        else:
            return response
        request_log_record(
            Entry(
                tenant_id=tenant_id,
                api_key_id=api_key_id,
                user_id=user_id,
                created_at=created_at,
                method=request.method,  # type: ignore[arg-type]  # a served request has one
                path=request.path,
                status_code=response.status_code,
                duration_ns=duration_ns,
                request_id=request.request_id,  # type: ignore[attr-defined]  # RequestIdMiddleware
                ip=request.META.get("REMOTE_ADDR", ""),
                user_agent=request.headers.get("User-Agent", ""),
            )
        )
        return response


class RateLimitHeadersMiddleware:
    """Tell clients where they stand: RateLimit-Limit/-Remaining/-Reset and RateLimit-Policy on
    every rate-limited response (a 429 carries Retry-After too)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        decision = getattr(request, "rate_limit", None)
        if decision is not None:
            response["RateLimit-Limit"] = str(decision.limit)
            response["RateLimit-Remaining"] = str(decision.remaining)
            response["RateLimit-Reset"] = str(decision.reset)
            response["RateLimit-Policy"] = f"{decision.limit};w={decision.window}"
        return response
