"""Which tenant and role a request acts as."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from rest_framework.request import Request

from core.errors import ApiError
from tenants.models import ApiKey, Membership, Role, Tenant

TENANT_HEADER = "X-Tenant"
TENANT_QUERY_PARAMETER = "tenant"
# The tenant a browser user chose (/accounts/tenant/), used when a request names none.
SESSION_TENANT_KEY = "kalkula_tenant"


@dataclass(frozen=True)
class TenantContext:
    tenant: Tenant
    role: str
    user: User | None
    api_key: ApiKey | None


def resolve_tenant_context(
    *,
    api_key: ApiKey | None,
    user: User | AnonymousUser | None,
    tenant_slug: str | None = None,
) -> TenantContext:
    """From an API key (its tenant and role) or a user's membership (chosen by slug if several)."""
    if api_key is not None:
        context = TenantContext(
            tenant=api_key.tenant, role=api_key.role, user=None, api_key=api_key
        )
    elif user is not None and user.is_authenticated and user.is_superuser and tenant_slug:
        # Superusers (staff who run the installation) act as owners of any tenant they name:
        # the admin's live pages follow any tenant's jobs this way.
        tenant = Tenant.objects.filter(slug=tenant_slug).first()
        if tenant is None:
            raise ApiError(
                code="no_tenant", message="You are not a member of that tenant.", status_code=403
            )
        context = TenantContext(tenant=tenant, role=Role.OWNER, user=user, api_key=None)
    elif user is not None and user.is_authenticated:
        queryset = Membership.objects.filter(user=user).select_related("tenant")
        if tenant_slug:
            queryset = queryset.filter(tenant__slug=tenant_slug)
        memberships = list(queryset[:2])
        if not memberships:
            raise ApiError(
                code="no_tenant", message="You are not a member of that tenant.", status_code=403
            )
        if len(memberships) > 1:
            raise ApiError(
                code="tenant_required",
                message=f"You belong to several tenants: name one in the {TENANT_HEADER} header "
                f"(or ?{TENANT_QUERY_PARAMETER}=<slug>, or choose one at /accounts/tenant/).",
            )
        membership = memberships[0]
        context = TenantContext(
            tenant=membership.tenant, role=membership.role, user=user, api_key=None
        )
    else:
        raise ApiError(
            code="not_authenticated",
            message="Authentication credentials were not provided.",
            status_code=401,
        )
    if not context.tenant.is_active:
        raise ApiError(
            code="tenant_suspended", message="This tenant is suspended.", status_code=403
        )
    return context


def requested_tenant_slug(request: HttpRequest) -> str | None:
    """The tenant a request names: the X-Tenant header, else `?tenant=`, else the one its browser
    session chose."""
    slug = request.headers.get(TENANT_HEADER) or request.GET.get(TENANT_QUERY_PARAMETER)
    if not slug:
        session = getattr(request, "session", None)
        slug = session.get(SESSION_TENANT_KEY) if session is not None else None
    return slug or None


def request_tenant_context(request: Request) -> TenantContext:
    """The request's context, resolved once and kept on the underlying HttpRequest, where the
    request log and the rate limiter find it too."""
    context = getattr(request._request, "tenant_context", None)
    if context is None:
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        context = resolve_tenant_context(
            api_key=api_key,
            user=None if api_key else request.user,
            tenant_slug=requested_tenant_slug(request._request),
        )
        request._request.tenant_context = context  # type: ignore[attr-defined]  # Kalkula's own
    return context


def actor_label(context: TenantContext) -> str:
    """Who acts, as shown on versions and comments: API keys have no user of their own."""
    if context.api_key is not None:
        return f"API key {context.api_key.name} ({context.api_key.prefix})"
    return context.user.get_username() if context.user is not None else ""
