"""Who a websocket acts for, decided once on the handshake, and which origins may open one."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.http.request import split_domain_port, validate_host

from core.errors import ApiError
from tenants.authentication import parse_api_key_header
from tenants.context import (
    SESSION_TENANT_KEY,
    TENANT_HEADER,
    TenantContext,
    resolve_tenant_context,
)
from tenants.services import api_key_authenticate


def websocket_tenant_context(
    *,
    authorization: str | None,
    user: User | AnonymousUser | None,
    tenant_slug: str | None,
    session: Any = None,
) -> TenantContext:
    """From an `Authorization: Api-Key` header, else from the session's user (who names a tenant
    with `?tenant=<slug>` or the X-Tenant header when in several, else the tenant their session
    chose). Raises ApiError."""
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
    if not tenant_slug and session is not None:
        tenant_slug = session.get(SESSION_TENANT_KEY)
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
                session=scope.get("session"),
            )
        except ApiError as exc:
            scope["auth_error"] = {"code": exc.error_code, "message": str(exc.detail)}
        return await super().__call__(scope, receive, send)


SESSION_COOKIE_HEADER = b"cookie"


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(scheme)


def _origin_triple(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an origin or URL, the port filled in from the scheme."""
    try:
        parsed = urlsplit(url.strip().lower())
        port = parsed.port
    except ValueError:
        return None
    if not parsed.scheme or not parsed.hostname:
        return None
    if port is None:
        port = _default_port(parsed.scheme)
    return parsed.scheme, parsed.hostname, port


def site_origin(scope: dict, headers: dict[bytes, bytes]) -> tuple[str, str, int | None] | None:
    """The origin of the page a browser on our site would send: the handshake's Host (one of
    ALLOWED_HOSTS), with https when the socket is wss or arrives through the TLS proxy
    (KALKULA_HTTPS, or the proxy's header when SECURE_PROXY_SSL_HEADER names one)."""
    host = headers.get(b"host", b"").decode("latin1")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss" or settings.HTTPS
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        meta_name, value = proxy_header
        header = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        secure = secure or headers.get(header, b"").decode("latin1").strip() == value
    return _origin_triple(f"{'https' if secure else 'http'}://{host}")


def origin_allowed(origin: str, scope: dict, headers: dict[bytes, bytes]) -> bool:
    """Scheme, host and port all the site's own (or one of CSRF_TRUSTED_ORIGINS, exactly)."""
    triple = _origin_triple(origin)
    if triple is None:
        return False
    own = site_origin(scope, headers)
    if own is not None and triple == own:
        return True
    return any(triple == _origin_triple(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS)


class BrowserOriginValidator:
    """A browser always sends `Origin` with a websocket handshake, and another site's page could
    open a socket that carries our session cookie: a handshake with an Origin opens only when its
    scheme, host and port are the site's own. Clients that are not browsers send no Origin and
    authenticate with an API key (no other site can add one); a handshake that brings a cookie and
    no Origin is not a browser's and is refused before the session is read."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin")
        if origin is not None:
            allowed = origin_allowed(origin.decode("latin1"), scope, headers)
        else:
            allowed = b"authorization" in headers or SESSION_COOKIE_HEADER not in headers
        if not allowed:
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


def websocket_stack(inner: Any) -> Any:
    """Origin check, session cookie, tenant context, then `inner`."""
    return BrowserOriginValidator(AuthMiddlewareStack(TenantContextMiddleware(inner)))
