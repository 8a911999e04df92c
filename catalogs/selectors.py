"""Reads of price catalogs, their items and alerts; every one requires the tenant."""

from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet

from catalogs.models import Alert, CatalogItem, PriceCatalog
from core.errors import not_found
from tenants.models import Tenant


# Catalogs and alerts ------------------------------------------------------------------------------
def catalog_list(*, tenant: Tenant) -> QuerySet[PriceCatalog]:
    return PriceCatalog.objects.for_tenant(tenant).order_by("name")


def catalog_get(*, tenant: Tenant, catalog_id: Any) -> PriceCatalog:
    catalog = catalog_list(tenant=tenant).filter(pk=catalog_id).first()
    if catalog is None:
        raise not_found("Catalog")
    return catalog


def catalog_item_list(
    *,
    tenant: Tenant,
    catalog: PriceCatalog,
    code: str | None = None,
    search: str | None = None,
    changed_in_version: int | None = None,
) -> QuerySet[CatalogItem]:
    """The catalog's items by code; `code` is a prefix, `search` looks in code and description."""
    items = CatalogItem.objects.for_tenant(tenant).filter(catalog=catalog)
    if code:
        items = items.filter(code__startswith=code)
    if search:
        items = items.filter(Q(description__icontains=search) | Q(code__icontains=search))
    if changed_in_version is not None:
        items = items.filter(changed_in_version=changed_in_version)
    return items.order_by("code")


def alert_list(
    *,
    tenant: Tenant,
    acknowledged: bool | None = None,
    project_id: UUID | None = None,
    kind: str | None = None,
) -> QuerySet[Alert]:
    """The tenant's alerts, newest first; a project of another tenant simply matches none."""
    alerts = Alert.objects.for_tenant(tenant)
    if acknowledged is not None:
        alerts = alerts.filter(acknowledged_at__isnull=not acknowledged)
    if project_id is not None:
        alerts = alerts.filter(project_id=project_id)
    if kind:
        alerts = alerts.filter(kind=kind)
    return alerts


def alert_get(*, tenant: Tenant, alert_id: Any) -> Alert:
    alert = Alert.objects.for_tenant(tenant).filter(pk=alert_id).first()
    if alert is None:
        raise not_found("Alert")
    return alert


def catalog_default(*, tenant: Tenant) -> PriceCatalog | None:
    """The catalog an audit uses when none is named: the tenant's most recently updated catalog
    with an imported edition (its only one, usually); None when it has none."""
    return (
        PriceCatalog.objects.for_tenant(tenant)
        .filter(version__gte=1)
        .order_by("-updated_at", "-created_at")
        .first()
    )
