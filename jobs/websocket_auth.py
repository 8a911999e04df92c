"""Who a websocket acts for, decided once on the handshake, and which origins may open one."""

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from core.errors import ApiError
from tenants.authentication import parse_api_key_header
from tenants.context import TENANT_HEADER, TenantContext, resolve_tenant_context
from tenants.services import api_key_authenticate


def websocket_tenant_context(
    *, authorization: str | None, user: User | AnonymousUser | None, tenant_slug: str | None
) -> TenantContext:
    """From an `Authorization: Api-Key` header, else from the session's user (who names a tenant
    with `?tenant=<slug>` or the X-Tenant header when in several). Raises ApiError."""
    if authorization is not None:
        raw_key = parse_api_key_header(authorization)
        if not raw_key:
            raise ApiError(
                code="not_authenticated",
                message="Send `Authorization: Api-Key <key>` or the session cookie.",
                status_code=401,
            )
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise ApiError(
                code="invalid_api_key", message="Unknown or revoked API key.", status_code=401
            )
        return resolve_tenant_context(api_key=api_key, user=None)
    return resolve_tenant_context(api_key=None, user=user, tenant_slug=tenant_slug)


class TenantContextMiddleware(BaseMiddleware):
    """Puts `tenant_context` (or `auth_error`: `{code, message}`) in the websocket scope. The
    consumer answers an unauthenticated socket with an error message, not a bare refusal."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = {name.decode("latin1").lower(): value for name, value in scope["headers"]}
        authorization = headers.get("authorization")
        query = parse_qs(scope.get("query_string", b"").decode("latin1"))
        tenant_header = headers.get(TENANT_HEADER.lower())
        tenant_slug = (
            tenant_header.decode("latin1") if tenant_header else (query.get("tenant") or [None])[0]
        )
        scope = dict(scope, tenant_context=None, auth_error=None)
        try:
            scope["tenant_context"] = await database_sync_to_async(websocket_tenant_context)(
                authorization=authorization.decode("latin1") if authorization else None,
                user=scope.get("user"),
                tenant_slug=tenant_slug,
            )
        except ApiError as exc:
            scope["auth_error"] = {"code": exc.error_code, "message": str(exc.detail)}
        return await super().__call__(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Browsers always send `Origin` with a websocket handshake, and it must be one of our hosts:
    otherwise another site could open a socket with the user's session cookie. Clients that are
    not browsers send none; they authenticate with an API key, which no other site can add."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or self.validate_origin(parsed_origin)


def websocket_stack(inner: Any) -> Any:
    """Origin check, session cookie, tenant context, then `inner`."""
    return BrowserOriginValidator(
        AuthMiddlewareStack(TenantContextMiddleware(inner)), settings.ALLOWED_HOSTS
    )
