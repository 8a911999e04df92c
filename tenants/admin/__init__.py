"""The tenants app's admin, and the bases every tenant-owned ModelAdmin is built on."""

from tenants.admin import tenants, users  # noqa: F401 - registers the ModelAdmins
from tenants.admin.base import (
    CheckedFilter,
    KnownCountPaginator,
    ReadOnlyAdmin,
    ScopedRelatedFilter,
    TenantFilter,
    TenantScopedAdmin,
    admin_tenant_ids,
    admin_tenants,
    admin_user,
    grouped_facets,
    memo,
    scoped,
)

__all__ = [
    "CheckedFilter",
    "KnownCountPaginator",
    "ReadOnlyAdmin",
    "ScopedRelatedFilter",
    "TenantFilter",
    "TenantScopedAdmin",
    "admin_tenant_ids",
    "admin_tenants",
    "admin_user",
    "grouped_facets",
    "memo",
    "scoped",
]
