"""Price catalogs: importing an edition, and the alerts a changed reference price or unit raises.

An import reads and validates the whole file first (a bad row fails it, naming row and column,
before anything is written), then, in one transaction under the catalog's row lock:
- the first import creates the catalog and its edition 1; each later one is the next edition
  (version + 1), named as the caller says (`ÚRS 2026 01`), else as the file says (OTSKP), else
  `<catalog> v<n>`. Every edition keeps all its items: older editions stay browsable, comparable
  and auditable. A file identical to the newest edition (or to the edition of the name given)
  changes nothing (so a redelivered job that already committed is a no-op); another file under
  an existing edition's name is refused;
- the edition's items are written in bulk; new items and items whose description, unit or price
  changed against the previous edition get `changed_in_version` = the new number, the others keep
  theirs;
- for each item whose unit price or (normalised) unit changed against the previous edition, every
  current position of the catalog's tenant with that code, in projects that are not archived,
  gets an Alert naming both editions (bulk-created), and each alert is announced as
  `alert.created` to the tenant's and the project's topics once the transaction commits.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import IO, Any, BinaryIO
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from catalogs.importer import ParsedItem, read_catalog
from catalogs.models import Alert, CatalogEdition, CatalogItem, PriceCatalog
from catalogs.selectors import catalog_get
from evidence.models import Evidence
from jobs.events import Event, publish_many, topic_for
from jobs.models import Job
from jobs.progress import NoProgress
from projects.importers.base import MAX_LISTED, ImportFailed, ImportReport
from projects.models import Position, Project
from projects.rows import plain_text
from projects.sources import import_job_start
from projects.units import normalise_unit
from tenants.models import ApiKey, Tenant

WRITE_BATCH = 1000
CODE_BATCH = 500  # codes per positions query: well under SQLite's limit of bound parameters
READ_SHARE = 50  # percent of the progress bar spent reading the file


EDITION_NAME_LENGTH = 100


@dataclass
class CatalogChange:
    """An item whose reference price or unit changed in the new edition."""

    item: CatalogItem
    old_unit: str
    old_price: Decimal

    @property
    def kind(self) -> str:
        price = self.old_price != self.item.unit_price
        unit = normalise_unit(self.old_unit) != normalise_unit(self.item.unit)
        if price and unit:
            return Alert.Kind.PRICE_AND_UNIT
        return Alert.Kind.PRICE if price else Alert.Kind.UNIT


@dataclass
class CatalogImportOutcome:
    catalog: PriceCatalog
    created: bool
    edition: CatalogEdition | None = None
    previous: CatalogEdition | None = None
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    alerts: int = 0
    report: ImportReport = field(default_factory=ImportReport)

    def as_result(self) -> dict[str, Any]:
        return {
            "catalog": str(self.catalog.id),
            "name": self.catalog.name,
            "version": self.catalog.version,
            "edition": edition_data(self.edition),
            "previous_edition": edition_data(self.previous),
            "created": self.created,
            "items": self.catalog.item_count,
            "changes": {
                "added": self.added,
                "changed": self.changed,
                "removed": self.removed,
                "unchanged": self.unchanged,
            },
            "alerts": self.alerts,
            "warnings": [p.as_dict() for p in self.report.warnings[:MAX_LISTED]],
            "warning_count": self.report.warning_count,
            "notes": self.report.notes,
        }


def edition_data(edition: CatalogEdition | None) -> dict[str, Any] | None:
    if edition is None:
        return None
    return {"id": str(edition.id), "number": edition.number, "name": edition.name}


def catalog_name_from(filename: str) -> str:
    return (PurePath(filename.replace("\\", "/")).stem or "Catalog")[:200]


def catalog_import_start(
    *,
    tenant: Tenant,
    actor: str,
    catalog_id: UUID | None = None,
    name: str = "",
    edition: str = "",
    file: IO[bytes] | None = None,
    filename: str = "",
    evidence_id: UUID | None = None,
    created_by: User | None = None,
    created_by_key: ApiKey | None = None,
    dispatch: bool = True,
) -> Job:
    """Start the import_catalog job of `file` (or the document `evidence_id`) into the catalog
    `catalog_id` (404 when the tenant has none such), or the one called `name` (created when
    new), as the edition called `edition` (default: as the file says, else `<catalog> v<n>`): the
    one way the API, the admin and `manage.py import_catalog` start it."""
    target: dict[str, Any] = {"actor": actor}
    if catalog_id is not None:
        target["catalog"] = str(catalog_get(tenant=tenant, catalog_id=catalog_id).id)
    elif name:
        target["name"] = name
    if edition.strip():
        target["edition"] = " ".join(edition.split())[:EDITION_NAME_LENGTH]
    return import_job_start(
        tenant=tenant,
        kind="import_catalog",
        input=target,
        file=file,
        filename=filename,
        evidence_id=evidence_id,
        created_by=created_by,
        created_by_key=created_by_key,
        dispatch=dispatch,
        evidence_kind=Evidence.Kind.CATALOG,
    )


def catalog_import(
    *,
    tenant: Tenant,
    stream: BinaryIO,
    filename: str,
    name: str | None = None,
    catalog_id: Any = None,
    edition: str = "",
    source: Evidence | None = None,
    progress: Any = None,
) -> CatalogImportOutcome:
    """Import `stream` (CSV or XLSX: code, description, unit, unit price; or OTSKP XML) as the
    next edition, called `edition`, of the tenant's catalog `catalog_id`, or of the one named
    `name` (created when there is none; the file's name without its suffix when neither is
    given). Raises ImportFailed, with the problems listed, when the file is bad, the catalog is
    not the tenant's or it has another edition of that name: nothing is written."""
    progress = progress or NoProgress()
    report = ImportReport()

    def on_progress(done: int, total: int) -> None:
        progress.update(READ_SHARE * done // max(total, 1), 100, step="reading the catalog")
        progress.check_cancelled()

    items = read_catalog(stream, filename=filename, report=report, on_progress=on_progress)
    progress.update(READ_SHARE, 100, step="writing the catalog")
    with transaction.atomic():
        catalog, created = _catalog_locked(
            tenant=tenant, catalog_id=catalog_id, name=name or catalog_name_from(filename)
        )
        edition_name = edition.strip() or str(report.notes.get("edition", ""))
        outcome, changes = _edition_write(
            catalog, items, name=edition_name, source=source, created=created
        )
        outcome.report = report
        progress.update(80, 100, step="raising alerts")
        alerts = _alerts_create(tenant=tenant, outcome=outcome, changes=changes) if changes else []
        outcome.alerts = len(alerts)
        if alerts:
            events = [_alert_event(alert) for alert in alerts]
            # robust: live delivery is best effort and never undoes a committed import.
            transaction.on_commit(lambda: publish_many(events), robust=True)
    progress.update(100, 100, step="done")
    edition_label = outcome.edition.name if outcome.edition is not None else "-"
    progress.log(
        f"Catalog {catalog.name} edition {edition_label} (v{catalog.version}): "
        f"{catalog.item_count} items, {outcome.added} added, {outcome.changed} changed, "
        f"{outcome.removed} removed; {outcome.alerts} alerts."
    )
    return outcome


def _catalog_locked(*, tenant: Tenant, catalog_id: Any, name: str) -> tuple[PriceCatalog, bool]:
    catalogs = PriceCatalog.objects.for_tenant(tenant).select_for_update()
    if catalog_id:
        catalog = catalogs.filter(pk=catalog_id).first()
        if catalog is None:
            raise ImportFailed("catalog_not_found", "The catalog to update was not found.")
        return catalog, False
    catalog = catalogs.filter(name=name).first()
    if catalog is not None:
        return catalog, False
    return PriceCatalog.objects.create(tenant=tenant, name=name, version=0), True


def _edition_write(
    catalog: PriceCatalog,
    items: list[ParsedItem],
    *,
    name: str,
    source: Evidence | None,
    created: bool,
) -> tuple[CatalogImportOutcome, list[CatalogChange]]:
    """The catalog's next edition of `items` (or nothing, when it is there already), and the
    items whose price or unit changed against the newest edition so far."""
    outcome = CatalogImportOutcome(catalog=catalog, created=created)
    name = " ".join(name.split())[:EDITION_NAME_LENGTH]
    editions = CatalogEdition.objects.filter(catalog=catalog)
    newest = editions.filter(number=catalog.version).first() if catalog.version else None
    named = editions.filter(name=name).first() if name else None
    same = named or (newest if not name else None)
    if same is not None:
        if _same_items(same, items):
            outcome.edition, outcome.unchanged = same, len(items)
            return outcome, []  # this edition again: nothing to do
        if named is not None:
            raise ImportFailed(
                "edition_exists",
                f"Catalog {catalog.name!r} already has an edition called {name!r} with other "
                "items: import this file under another edition name.",
            )
    number = catalog.version + 1
    if not name:  # `<catalog> v<n>`; `… (2)` should an edition have been given that name
        base = f"{catalog.name} v{number}"[: EDITION_NAME_LENGTH - 5]
        name, suffix = base, 1
        while editions.filter(name=name).exists():
            suffix += 1
            name = f"{base} ({suffix})"
    edition = CatalogEdition.objects.create(
        tenant_id=catalog.tenant_id,
        catalog=catalog,
        number=number,
        name=name,
        source=source,  # None: this edition came as an upload, not a kept document
        item_count=len(items),
    )
    outcome.edition, outcome.previous = edition, newest
    stored = _edition_items(newest) if newest is not None else {}
    rows: list[CatalogItem] = []
    changes: list[CatalogChange] = []
    for parsed in items:
        before = stored.pop(parsed.code, None)
        item = CatalogItem(
            tenant_id=catalog.tenant_id,
            catalog=catalog,
            edition=edition,
            code=parsed.code,
            description=parsed.description,
            unit=parsed.unit,
            unit_price=parsed.unit_price,
            changed_in_version=number,
        )
        rows.append(item)
        if before is None:
            outcome.added += 1
        elif before[:3] == (parsed.description, parsed.unit, parsed.unit_price):
            item.changed_in_version = before[3]
            outcome.unchanged += 1
        else:
            outcome.changed += 1
            old_unit, old_price = before[1], before[2]
            if old_price != item.unit_price or normalise_unit(old_unit) != normalise_unit(
                item.unit
            ):
                changes.append(CatalogChange(item=item, old_unit=old_unit, old_price=old_price))
    outcome.removed = len(stored)
    CatalogItem.objects.bulk_create(rows, batch_size=WRITE_BATCH)
    catalog.version = number
    catalog.item_count = len(items)
    catalog.source = source
    catalog.save(update_fields=["version", "item_count", "source", "updated_at"])
    return outcome, changes


def _edition_items(edition: CatalogEdition) -> dict[str, tuple[str, str, Decimal, int]]:
    """(description, unit, unit price, changed_in_version) of the edition's items by code."""
    return {
        code: (description, unit, price, changed)
        for code, description, unit, price, changed in CatalogItem.objects.filter(
            edition=edition
        ).values_list("code", "description", "unit", "unit_price", "changed_in_version")
    }


def _same_items(edition: CatalogEdition, items: list[ParsedItem]) -> bool:
    if edition.item_count != len(items):
        return False
    stored = _edition_items(edition)
    return all(
        stored.get(item.code, ())[:3] == (item.description, item.unit, item.unit_price)
        for item in items
    )


def _current_positions(*, tenant: Tenant, codes: list[str]) -> Iterator[Mapping[str, Any]]:
    """Current positions with these codes in the tenant's projects that are not archived."""
    for start in range(0, len(codes), CODE_BATCH):
        yield from (
            Position.objects.for_tenant(tenant)
            .filter(valid_to__isnull=True, code__in=codes[start : start + CODE_BATCH])
            .exclude(project__status=Project.Status.ARCHIVED)
            .filter(project__deleted_at__isnull=True)
            .order_by("project_id", "ordinal")
            .values(
                "id",
                "project_id",
                "line_key",
                "position_number",
                "code",
                "description",
                "unit",
                "unit_price",
            )
        )


def _alerts_create(
    *, tenant: Tenant, outcome: CatalogImportOutcome, changes: list[CatalogChange]
) -> list[Alert]:
    catalog, edition, previous = outcome.catalog, outcome.edition, outcome.previous
    by_code = {change.item.code: change for change in changes}
    alerts = []
    for position in _current_positions(tenant=tenant, codes=list(by_code)):
        change = by_code[position["code"]]
        alerts.append(
            Alert(
                tenant_id=catalog.tenant_id,
                project_id=position["project_id"],
                catalog=catalog,
                catalog_item=change.item,
                catalog_version=catalog.version,
                edition=edition,
                previous_edition=previous,
                kind=change.kind,
                line_key=position["line_key"],
                position_number=position["position_number"],
                code=position["code"],
                message=_message(outcome, change, position),
                details=_details(outcome, change, position),
            )
        )
    return Alert.objects.bulk_create(alerts, batch_size=WRITE_BATCH)


def _price_text(value: Decimal | None) -> str:
    return plain_text(value, min_places=2) if value is not None else "(none)"


def _message(
    outcome: CatalogImportOutcome, change: CatalogChange, position: Mapping[str, Any]
) -> str:
    catalog, item, what = outcome.catalog, change.item, []
    label = position["position_number"] or position["line_key"]
    if change.kind in (Alert.Kind.PRICE, Alert.Kind.PRICE_AND_UNIT):
        old, new = change.old_price, item.unit_price
        trend = f" ({(new / old - 1) * 100:+.1f} %)" if old else ""
        what.append(
            f"reference unit price {_price_text(old)} → {_price_text(new)} "
            f"{catalog.currency}{trend}"
        )
    if change.kind in (Alert.Kind.UNIT, Alert.Kind.PRICE_AND_UNIT):
        what.append(f"unit {change.old_unit} → {item.unit}")
    todo = (
        f"measure the position in {item.unit} (convert its quantity) and re-check its price"
        if change.kind != Alert.Kind.PRICE
        else f"re-check its unit price ({_price_text(position['unit_price'])})"
    )
    assert outcome.edition is not None and outcome.previous is not None  # an update has both
    return (
        f"Catalog {catalog.name}: edition {outcome.edition.name} (v{outcome.edition.number}) "
        f"changed item {item.code} against {outcome.previous.name} "
        f"(v{outcome.previous.number}): {' and '.join(what)}. Position {label} uses this code: "
        f"{todo}, then re-run the audit."
    )


def _details(
    outcome: CatalogImportOutcome, change: CatalogChange, position: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "catalog_name": outcome.catalog.name,
        "editions": {
            "old": edition_data(outcome.previous),
            "new": edition_data(outcome.edition),
        },
        "old": {"unit": change.old_unit, "unit_price": str(change.old_price)},
        "new": {"unit": change.item.unit, "unit_price": str(change.item.unit_price)},
        "position": {
            "id": str(position["id"]),
            "description": position["description"][:200],
            "unit": position["unit"],
            "unit_price": None if position["unit_price"] is None else str(position["unit_price"]),
        },
    }


def _alert_event(alert: Alert) -> Event:
    return Event(
        type="alert.created",
        tenant_id=alert.tenant_id,
        data=alert_event_data(alert),
        topics=[topic_for("tenant", alert.tenant_id), topic_for("project", alert.project_id)],
    )


def alert_event_data(alert: Alert) -> dict[str, Any]:
    return {
        "id": str(alert.id),
        "project": str(alert.project_id),
        "catalog": str(alert.catalog_id),
        "catalog_version": alert.catalog_version,
        "edition": alert.details.get("editions", {}).get("new"),
        "previous_edition": alert.details.get("editions", {}).get("old"),
        "kind": alert.kind,
        "code": alert.code,
        "line_key": alert.line_key,
        "position_number": alert.position_number,
        "message": alert.message,
        "details": alert.details,
        "created_at": alert.created_at.isoformat() if alert.created_at else None,
    }


def alert_acknowledge(*, alert: Alert, by: str) -> Alert:
    """Mark the alert as seen; acknowledging it again keeps the first acknowledgement."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = by[:200]
        updated = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=alert.acknowledged_at, acknowledged_by=alert.acknowledged_by
        )
        if not updated:  # someone else was first: theirs stands
            alert.refresh_from_db(fields=["acknowledged_at", "acknowledged_by"])
    return alert
