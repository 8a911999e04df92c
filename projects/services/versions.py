"""Versions: every change of a budget (import, edit, revert) opens a version under the project's
row lock, writes its rows, and commits it here: changes counted against the parent in SQL, the
project's cached aggregates recomputed, `version.created` published once the transaction commits."""

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from core.errors import ApiError
from jobs.events import Event, publish, topic_for
from projects.bulk import positions_analyze, positions_close, positions_write
from projects.importers.base import round_money
from projects.models import BudgetVersion, Position, Project
from projects.rows import CONTENT_FIELDS, ROW_FIELDS, SCALES, OutOfRange, fingerprint, quantize
from projects.selectors import exact_total, valid_in, version_diff_counts
from projects.services.projects import project_archived_error
from tenants.services import positions_quota_check

EDITABLE_FIELDS = (
    "code",
    "description",
    "category",
    "unit",
    "quantity",
    "unit_price",
    "total_price",
)
COPY_BATCH = 5000


def project_lock(*, project: Project) -> Project:
    """The project's row, locked until the transaction ends: a project's versions are written one
    at a time (on SQLite the database-wide write lock does the same)."""
    locked = (
        Project.objects.select_for_update(of=("self",))
        .select_related("current_version", "tenant")
        .get(pk=project.pk)
    )
    if locked.is_archived:
        raise project_archived_error()
    return locked


def version_open(
    *,
    project: Project,
    trigger: str,
    created_by: User | None,
    actor: str = "",
    source_name: str = "",
    summary: str = "",
    job: Any = None,
    reconciliation: list[dict] | None = None,
    declared_totals: dict[str, str] | None = None,
) -> BudgetVersion:
    """The next version of a locked project, not yet current; an import gives the file's
    `reconciliation` table and `declared_totals`."""
    last = BudgetVersion.objects.filter(project=project).aggregate(last=Max("number"))["last"]
    return BudgetVersion.objects.create(
        tenant_id=project.tenant_id,
        project=project,
        number=(last or 0) + 1,
        trigger=trigger,
        parent=project.current_version,
        created_by=created_by if getattr(created_by, "pk", None) else None,
        actor=actor[:200],
        source_name=source_name[:255],
        summary=summary[:500],
        job=job,
        reconciliation=reconciliation or [],
        declared_totals=declared_totals or {},
    )


def version_commit(*, project: Project, version: BudgetVersion) -> BudgetVersion:
    """Count the changes, cache the aggregates, make `version` current, publish after commit.
    The version's rows are the project's current rows by now."""
    parent = version.parent
    totals = exact_total(Position.objects.filter(project=project, valid_to__isnull=True))
    if parent is None:
        version.added_count = totals["count"]
        version.delta_cost = totals["total_cost"]
    else:
        diff = version_diff_counts(
            project=project, from_number=parent.number, to_number=version.number
        )
        version.added_count = diff.added_count
        version.removed_count = diff.removed_count
        version.modified_count = diff.modified_count
        version.delta_cost = diff.delta_cost
    version.position_count = totals["count"]
    version.total_cost = totals["total_cost"]
    version.save()
    _make_current(project=project, version=version, totals=totals)
    return version


def version_create_first(
    *, project: Project, totals: dict[str, Any], created_at: Any = None, **version_fields: Any
) -> BudgetVersion:
    """Version 1 of a new project whose rows the caller writes in this transaction, with their
    `totals` known beforehand (count, total_cost, green, amber, red): one INSERT and one UPDATE
    instead of `version_open` + `version_commit`. `created_at` backdates the project."""
    version = BudgetVersion.objects.create(
        tenant_id=project.tenant_id,
        project=project,
        number=1,
        added_count=totals["count"],
        delta_cost=totals["total_cost"],
        position_count=totals["count"],
        total_cost=totals["total_cost"],
        **version_fields,
    )
    _make_current(project=project, version=version, totals=totals, created_at=created_at)
    return version


def _make_current(
    *,
    project: Project,
    version: BudgetVersion,
    totals: dict[str, Any],
    created_at: Any = None,
) -> None:
    """Make `version` the project's current one with its aggregates; announce it after commit."""
    project.current_version = version
    project.position_count = totals["count"]
    project.total_cost = totals["total_cost"]
    project.green_count = totals["green"]
    project.amber_count = totals["amber"]
    project.red_count = totals["red"]
    project.status = Project.Status.READY
    fields = [
        "current_version",
        "position_count",
        "total_cost",
        "green_count",
        "amber_count",
        "red_count",
        "status",
        "updated_at",
    ]
    if created_at is not None:
        project.created_at = created_at
        fields.append("created_at")
    project.save(update_fields=fields)
    event = Event(
        type="version.created",
        tenant_id=project.tenant_id,
        data={
            "project": str(project.id),
            "version": version.number,
            "trigger": version.trigger,
            "changes": {
                "added": version.added_count,
                "removed": version.removed_count,
                "modified": version.modified_count,
            },
            "delta_cost": str(version.delta_cost),
            "position_count": version.position_count,
            "total_cost": str(version.total_cost),
        },
        topics=[topic_for("project", project.id), topic_for("tenant", project.tenant_id)],
    )
    transaction.on_commit(lambda: publish(event))


def position_edit(
    *,
    project: Project,
    position_id: UUID,
    changes: dict[str, Any],
    created_by: User | None = None,
    actor: str = "",
) -> tuple[Position, BudgetVersion | None]:
    """Change a current position: a new version whose row replaces it (same line key and place).
    A change of quantity or unit price without a total recomputes the total. Changing nothing makes
    no version. Returns the new row (the old one as it was when nothing changed) and the version."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        project = project_lock(project=project)
        old = (
            Position.objects.for_tenant(project.tenant)
            .filter(project=project, pk=position_id)
            .first()
        )
        if old is None:
            raise ApiError(code="not_found", message="Position not found.", status_code=404)
        if old.valid_to is not None:
            raise ApiError(
                code="not_current",
                message=f"This row of position {old.line_key!r} belongs to an old version; "
                "edit the current one.",
                status_code=409,
            )
        values = {name: getattr(old, name) for name in CONTENT_FIELDS}
        for name, value in changes.items():
            values[name] = _stored(name, value)
        if {"quantity", "unit_price"} & set(changes) and "total_price" not in changes:
            quantity, unit_price = values["quantity"], values["unit_price"]
            values["total_price"] = (
                round_money(quantity * unit_price)
                if quantity is not None and unit_price is not None
                else None
            )
        changed = [name for name in CONTENT_FIELDS if values[name] != getattr(old, name)]
        if not changed:
            return old, None
        version = version_open(
            project=project,
            trigger=BudgetVersion.Trigger.EDIT,
            created_by=created_by,
            actor=actor,
            summary=_edit_summary(old, values, changed),
        )
        new = Position(
            tenant_id=project.tenant_id,
            project=project,
            valid_from=version.number,
            ordinal=old.ordinal,
            source_line=old.source_line,
            line_key=old.line_key,
            audit_status=Position.AuditStatus.UNAUDITED,
            fingerprint=fingerprint(values[name] for name in CONTENT_FIELDS),
            **values,
        )
        new.save(force_insert=True)
        positions_close(ids=[old.id], valid_to=version.number)
        version_commit(project=project, version=version)
    return new, version


def _stored(name: str, value: Any) -> Any:
    if name not in SCALES:
        return value
    try:
        return quantize(name, value)
    except OutOfRange:
        raise ApiError(
            code="invalid",
            message=f"{name.replace('_', ' ')}: {value} is too large.",
            details={name: ["too large"]},
        ) from None


def _edit_summary(old: Position, values: dict[str, Any], changed: list[str]) -> str:
    def show(value: Any) -> str:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        return repr(value) if isinstance(value, str) else str(value)

    parts = [
        f"{name.replace('_', ' ')} {show(getattr(old, name))} → {show(values[name])}"
        for name in changed
    ]
    return f"Edited {old.line_key}: " + ", ".join(parts)


def version_revert(
    *,
    project: Project,
    number: int,
    created_by: User | None = None,
    actor: str = "",
) -> BudgetVersion:
    """A new version equal to version `number`: rows added since are closed, rows it had that were
    closed since are copied as new current rows."""
    with transaction.atomic():
        project = project_lock(project=project)
        target = BudgetVersion.objects.filter(project=project, number=number).first()
        if target is None:
            raise ApiError(
                code="not_found", message=f"Version {number} not found.", status_code=404
            )
        if target.pk == project.current_version_id:
            raise ApiError(
                code="already_current",
                message=f"Version {number} is the current version already.",
                status_code=409,
            )
        positions_quota_check(tenant=project.tenant, count=target.position_count)
        version = version_open(
            project=project,
            trigger=BudgetVersion.Trigger.REVERT,
            created_by=created_by,
            actor=actor,
            summary=f"Reverted to version {number}",
        )
        Position.objects.filter(
            project=project, valid_to__isnull=True, valid_from__gt=number
        ).exclude(valid_from=version.number).update(valid_to=version.number)
        # Rows of `number` closed since: copied in keyset batches (COPY holds the connection, so
        # reading and writing take turns).
        gone = (
            Position.objects.filter(project=project, valid_to__isnull=False)
            .filter(valid_in(number))
            .order_by("ordinal")
        )
        last_ordinal = copied = 0
        while True:
            batch = list(
                gone.filter(ordinal__gt=last_ordinal).values_list(*ROW_FIELDS)[:COPY_BATCH]
            )
            if not batch:
                break
            last_ordinal = batch[-1][1]
            copied += positions_write(
                project=project,
                valid_from=version.number,
                rows=((None, *row[1:]) for row in batch),
            )
        version_commit(project=project, version=version)
    positions_analyze(rows_written=copied)
    return version
