"""Reads of price catalogs, their items and alerts; every one requires the tenant."""

from typing import Any
from uuid import UUID

from django.db.models import Case, CharField, F, Max, Q, QuerySet, When

from catalogs.models import Alert, CatalogEdition, CatalogItem, PriceCatalog
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


def edition_list(*, tenant: Tenant, catalog: PriceCatalog) -> QuerySet[CatalogEdition]:
    """The catalog's editions, newest first."""
    return CatalogEdition.objects.for_tenant(tenant).filter(catalog=catalog).order_by("-number")


def edition_get(*, tenant: Tenant, catalog: PriceCatalog, number: int) -> CatalogEdition:
    edition = edition_list(tenant=tenant, catalog=catalog).filter(number=number).first()
    if edition is None:
        raise not_found("Edition")
    return edition


def edition_find(
    *, tenant: Tenant, edition: Any, catalog: PriceCatalog | None = None
) -> CatalogEdition:
    """An edition of the tenant by id or by name (of `catalog`, when given; else of any of the
    tenant's catalogs, the most recently imported first). 404 when there is none such."""
    editions = CatalogEdition.objects.for_tenant(tenant).select_related("catalog")
    if catalog is not None:
        editions = editions.filter(catalog=catalog)
    try:
        found = editions.filter(pk=UUID(str(edition))).first()
    except ValueError:  # not an id: a name
        found = editions.filter(name=" ".join(str(edition).split())).order_by("-created_at").first()
    if found is None:
        raise not_found("Edition")
    return found


def catalog_item_list(
    *,
    tenant: Tenant,
    catalog: PriceCatalog,
    edition: CatalogEdition | None = None,
    code: str | None = None,
    search: str | None = None,
    changed_in_version: int | None = None,
) -> QuerySet[CatalogItem]:
    """The items of one edition of the catalog (the newest by default) by code; `code` is a
    prefix, `search` looks in code and description."""
    items = CatalogItem.objects.for_tenant(tenant).filter(catalog=catalog)
    if edition is not None:
        items = items.filter(edition=edition)
    else:
        items = items.filter(edition__number=catalog.version)
    if code:
        items = items.filter(code__startswith=code)
    if search:
        items = items.filter(Q(description__icontains=search) | Q(code__icontains=search))
    if changed_in_version is not None:
        items = items.filter(changed_in_version=changed_in_version)
    return items.order_by("code")


DIFF_CHANGES = ("added", "removed", "changed")


def edition_diff(
    *,
    tenant: Tenant,
    old: CatalogEdition,
    new: CatalogEdition,
    change: str | None = None,
    code: str | None = None,
) -> QuerySet:
    """One row per code that differs between two editions (of one catalog or two), by code:
    {code, old_description, new_description, old_unit, new_unit, old_unit_price,
    new_unit_price}, the old values None for an added item and the new ones None for a removed
    one. One grouped query over both editions' items; `change` (added, removed, changed) and
    `code` (a prefix) narrow it."""

    def side(edition: CatalogEdition, field: str) -> Max:
        output = CharField() if field != "unit_price" else None
        return Max(Case(When(edition=edition, then=F(field)), output_field=output))

    rows = (
        CatalogItem.objects.for_tenant(tenant)
        .filter(edition__in=[old, new])
        .values("code")
        .annotate(
            old_description=side(old, "description"),
            new_description=side(new, "description"),
            old_unit=side(old, "unit"),
            new_unit=side(new, "unit"),
            old_unit_price=side(old, "unit_price"),
            new_unit_price=side(new, "unit_price"),
        )
    )
    if code:
        rows = rows.filter(code__startswith=code)
    added = Q(old_unit__isnull=True)
    removed = Q(new_unit__isnull=True)
    changed = Q(old_unit__isnull=False, new_unit__isnull=False) & (
        ~Q(old_unit_price=F("new_unit_price"))
        | ~Q(old_unit=F("new_unit"))
        | ~Q(old_description=F("new_description"))
    )
    wanted = {"added": added, "removed": removed, "changed": changed}
    return rows.filter(wanted[change] if change else added | removed | changed).order_by("code")


def diff_change(row: dict[str, Any]) -> str:
    """What happened to a row of edition_diff: added, removed or changed."""
    if row["old_unit"] is None:
        return "added"
    return "removed" if row["new_unit"] is None else "changed"


def alert_list(
    *,
    tenant: Tenant,
    acknowledged: bool | None = None,
    project_id: UUID | None = None,
    kind: str | None = None,
) -> QuerySet[Alert]:
    """The tenant's alerts, newest first; a project of another tenant simply matches none."""
    alerts = Alert.objects.for_tenant(tenant).select_related("edition", "previous_edition")
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
    with an imported edition; None when it has none."""
    return (
        PriceCatalog.objects.for_tenant(tenant)
        .filter(version__gte=1)
        .order_by("-updated_at", "-created_at")
        .first()
    )
