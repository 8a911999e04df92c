"""Reads of projects, versions, positions, diffs and comments; every one requires the tenant."""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum
from django.db.models.functions import Round

from core.db import RowReader
from core.errors import ApiError, not_found
from projects.models import BudgetVersion, Comment, Position, Project
from projects.rows import CONTENT_FIELDS, SCALES, quantize
from tenants.models import Tenant

DIFF_KINDS = ("added", "removed", "modified")


# Projects -----------------------------------------------------------------------------------------
def project_list(
    *, tenant: Tenant, include_archived: bool = False, status: str | None = None
) -> QuerySet[Project]:
    projects = Project.objects.for_tenant(tenant).select_related("current_version")
    if not include_archived:
        projects = projects.exclude(status=Project.Status.ARCHIVED)
    if status:
        projects = projects.filter(status=status)
    return projects


def project_get(*, tenant: Tenant, project_id: Any) -> Project:
    """The tenant's project, with its current version. Every request under /projects/{id}/
    starts here: one plain statement, read as the ORM would, where compiling the ORM's join (33
    columns) cost several times running it."""
    pk = Project._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            _PROJECT_SQL,
            [
                pk.get_db_prep_value(tenant.pk, connection),
                pk.get_db_prep_value(project_id, connection),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        raise not_found("Project")
    width = len(_PROJECT_ROWS.fields)
    project = _PROJECT_ROWS.read(row[:width])
    project.current_version = _VERSION_ROWS.read(row[width:]) if row[width] is not None else None
    return project


_PROJECT_ROWS = RowReader(Project)
_VERSION_ROWS = RowReader(BudgetVersion)
_PROJECT_SQL = (
    f"SELECT {_PROJECT_ROWS.columns('p')}, {_VERSION_ROWS.columns('v')} "  # noqa: S608 - model names
    f"FROM {Project._meta.db_table} p "
    f"LEFT JOIN {BudgetVersion._meta.db_table} v ON v.id = p.current_version_id "
    "WHERE p.tenant_id = %s AND p.id = %s"
)


# Versions -----------------------------------------------------------------------------------------
def version_list(*, tenant: Tenant, project: Project) -> QuerySet[BudgetVersion]:
    return (
        BudgetVersion.objects.for_tenant(tenant)
        .filter(project=project)
        .select_related("parent", "created_by")
    )


def version_get(*, tenant: Tenant, project: Project, number: int) -> BudgetVersion:
    version = version_list(tenant=tenant, project=project).filter(number=number).first()
    if version is None:
        raise not_found(f"Version {number}")
    return version


# Positions ----------------------------------------------------------------------------------------
def valid_in(number: int) -> Q:
    """Rows of version `number`."""
    return Q(valid_from__lte=number) & (Q(valid_to__isnull=True) | Q(valid_to__gt=number))


def position_list(
    *,
    tenant: Tenant,
    project: Project,
    version: int | None = None,
    status: str | None = None,
    code: str | None = None,
    section: str | None = None,
    search: str | None = None,
) -> QuerySet[Position]:
    """Positions of one version (the current one by default), in file order."""
    positions = Position.objects.for_tenant(tenant).filter(project=project)
    if version is None or (
        project.current_version is not None and version == project.current_version.number
    ):
        positions = positions.filter(valid_to__isnull=True)
    else:
        positions = positions.filter(valid_in(version))
    if status:
        positions = positions.filter(audit_status=status)
    if code:
        positions = positions.filter(code__startswith=code)
    if section:
        positions = positions.filter(section__startswith=section)
    if search:
        positions = positions.filter(
            Q(description__icontains=search) | Q(code__icontains=search) | Q(position_number=search)
        )
    return positions.order_by("ordinal")


def position_get(*, tenant: Tenant, project: Project, position_id: Any) -> Position:
    position = Position.objects.for_tenant(tenant).filter(project=project, pk=position_id).first()
    if position is None:
        raise not_found("Position")
    return position


def exact_total(positions: QuerySet[Position]) -> dict[str, Any]:
    """Count, total cost and audit status counts of `positions` in one query. The total is summed
    in whole cents: exact on PostgreSQL's numeric and on SQLite's floating point alike; positions
    of a kind that does not count (Position.NOT_COUNTED_KINDS) are counted but not added."""
    aggregates = positions.aggregate(
        count=Count("id"),
        cents=Sum(
            Round(F("total_price") * 100),
            output_field=DecimalField(max_digits=30, decimal_places=0),
            filter=~Q(kind__in=Position.NOT_COUNTED_KINDS),
        ),
        green=Count("id", filter=Q(audit_status=Position.AuditStatus.GREEN)),
        amber=Count("id", filter=Q(audit_status=Position.AuditStatus.AMBER)),
        red=Count("id", filter=Q(audit_status=Position.AuditStatus.RED)),
    )
    cents = aggregates.pop("cents") or Decimal(0)
    aggregates["total_cost"] = (Decimal(cents) / 100).quantize(Decimal("0.01"))
    return aggregates


# Diffs --------------------------------------------------------------------------------------------
@dataclass
class Diff:
    from_number: int
    to_number: int
    added_count: int = 0
    removed_count: int = 0
    modified_count: int = 0
    delta_cost: Decimal = Decimal("0.00")
    entries: dict[str, list[dict]] = field(default_factory=lambda: {k: [] for k in DIFF_KINDS})
    truncated: bool = False


_DIFF_COLUMNS = ("id", "line_key", "ordinal", *CONTENT_FIELDS)
# The diff's SQL, built once. Identifiers come from the model and values are bound parameters: no
# user text ever reaches these strings.
_TABLE = Position._meta.db_table
_COLUMNS = ", ".join(_DIFF_COLUMNS)
# A row is valid in [valid_from, valid_to). With lo < hi, the rows of lo that hi lacks are those
# closed in (lo, hi], and the rows of hi that lo lacks those opened in (lo, hi]: both read from an
# index, touching only what changed between the two versions.
_CLOSED = (
    f"SELECT {_COLUMNS} FROM {_TABLE} WHERE project_id = %s "  # noqa: S608
    "AND valid_to > %s AND valid_to <= %s AND valid_from <= %s"
)
_OPENED = (
    f"SELECT {_COLUMNS} FROM {_TABLE} WHERE project_id = %s "  # noqa: S608
    "AND valid_from > %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)"
)
# Null-safe: a value that appears or disappears (a tender's empty price, then the bid's) differs.
# (`a <> b` is NULL when either is; `(a IS NULL) <> (b IS NULL)` is then TRUE.)
_DIFFERS = " OR ".join(
    f"o.{f} <> n.{f} OR (o.{f} IS NULL) <> (n.{f} IS NULL)" for f in CONTENT_FIELDS
)
# One full join pairs the two sides by line key. A full join can only be hashed or merged, never
# a nested loop, so the plan stays linear even when the statistics of a table just bulk-loaded
# are stale.
_JOINED = "old_rows o FULL OUTER JOIN new_rows n ON o.line_key = n.line_key"
_KINDS = {
    "added": "o.id IS NULL",
    "removed": "n.id IS NULL",
    "modified": f"o.id IS NOT NULL AND n.id IS NOT NULL AND ({_DIFFERS})",
}
# Kinds that do not count toward totals: the model's constant, as SQL literals.
_NOT_COUNTED = ", ".join(f"'{kind}'" for kind in sorted(Position.NOT_COUNTED_KINDS))
_CENTS = (
    "COALESCE(SUM(CASE WHEN {side}.kind IN (" + _NOT_COUNTED + ") THEN NULL "
    "ELSE ROUND({side}.total_price * 100) END), 0)"
)
_COUNTS = (
    "SELECT "
    + ", ".join(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)" for condition in _KINDS.values())
    + f", {_CENTS.format(side='n')}, {_CENTS.format(side='o')}"
)
_COUNTS_SQL = f"{_COUNTS} FROM {_JOINED}"
# The counts, and whether each of the two versions exists (the tenant's, the project's).
_VERSION_EXISTS = (
    f"(SELECT COUNT(*) FROM {BudgetVersion._meta.db_table} "  # noqa: S608 - model names
    "WHERE tenant_id = %s AND project_id = %s AND number = %s)"
)
_COUNTS_AND_VERSIONS_SQL = f"{_COUNTS}, {_VERSION_EXISTS}, {_VERSION_EXISTS} FROM {_JOINED}"
_ENTRY_COLUMNS = ", ".join([*(f"o.{c}" for c in _DIFF_COLUMNS), *(f"n.{c}" for c in _DIFF_COLUMNS)])


def _entries_sql(kinds: tuple[str, ...], limit: int | None) -> str:
    """The entries of every kind in `kinds` (at most `limit` of each) in one statement, kind by
    kind (DIFF_KINDS' order), each in file order."""
    arms = []
    for kind in kinds:
        arm = (
            f"SELECT {DIFF_KINDS.index(kind)} AS entry_kind, "  # noqa: S608 - model names
            f"COALESCE(n.ordinal, o.ordinal) AS entry_place, {_ENTRY_COLUMNS} "
            f"FROM {_JOINED} WHERE {_KINDS[kind]} ORDER BY entry_place"
        )
        if limit is not None:
            arm += f" LIMIT {int(limit)}"
        arms.append(f"SELECT * FROM ({arm}) {kind}")  # noqa: S608 - our own statements
    return " UNION ALL ".join(arms) + " ORDER BY 1, 2"


def _diff_query(project: Project, a: int, b: int, select: str) -> tuple[str, list]:
    """`select` over `old_rows` (rows of version a that b lacks) and `new_rows` (of b, a lacks)."""
    lo, hi = min(a, b), max(a, b)
    project_id = Project._meta.pk.get_db_prep_value(project.pk, connection)
    closed = (_CLOSED, [project_id, lo, hi, lo])
    opened = (_OPENED, [project_id, lo, hi, hi])
    (old_sql, old_params), (new_sql, new_params) = (closed, opened) if a <= b else (opened, closed)
    # Not materialized: the entries' statement reads each side once per kind, and a materialized
    # side (PostgreSQL's choice for a CTE read more than once) has no index to join on.
    sql = (
        f"WITH old_rows AS NOT MATERIALIZED ({old_sql}), "
        f"new_rows AS NOT MATERIALIZED ({new_sql}) {select}"
    )
    return sql, [*old_params, *new_params]


def version_diff_counts(*, project: Project, from_number: int, to_number: int) -> Diff:
    """Added, removed and modified counts and the delta cost, in one SQL query."""
    diff = Diff(from_number=from_number, to_number=to_number)
    if from_number == to_number:
        return diff
    with connection.cursor() as cursor:
        cursor.execute(*_diff_query(project, from_number, to_number, _COUNTS_SQL))
        _set_counts(diff, cursor.fetchone())
    return diff


def _set_counts(diff: Diff, row: tuple) -> None:
    added, removed, modified, new_cents, old_cents = row
    diff.added_count, diff.removed_count, diff.modified_count = (
        int(added or 0),
        int(removed or 0),
        int(modified or 0),
    )
    diff.delta_cost = ((Decimal(new_cents) - Decimal(old_cents)) / 100).quantize(Decimal("0.01"))


def _diff_counts_checked(
    *, tenant: Tenant, project: Project, from_number: int, to_number: int
) -> Diff:
    """version_diff_counts, 404 for a version the tenant's project lacks: one statement."""
    diff = Diff(from_number=from_number, to_number=to_number)
    if from_number == to_number:
        found = BudgetVersion.objects.for_tenant(tenant).filter(project=project, number=from_number)
        if not found.exists():
            raise not_found(f"Version {from_number}")
        return diff
    pk = Project._meta.pk
    ids = [
        pk.get_db_prep_value(tenant.pk, connection),
        pk.get_db_prep_value(project.pk, connection),
    ]
    sql, params = _diff_query(project, from_number, to_number, _COUNTS_AND_VERSIONS_SQL)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *ids, from_number, *ids, to_number])
        *counts, from_exists, to_exists = cursor.fetchone()
    exists = {from_number: from_exists, to_number: to_exists}
    for number in {from_number, to_number}:  # the order version_get's checks had
        if not exists[number]:
            raise not_found(f"Version {number}")
    _set_counts(diff, tuple(counts))
    return diff


def version_diff(
    *,
    tenant: Tenant,
    project: Project,
    from_number: int,
    to_number: int,
    kinds: tuple[str, ...] = DIFF_KINDS,
    limit: int | None = None,
) -> Diff:
    """The diff of two versions of `project`: counts, delta cost, and up to `limit` entries of each
    kind in `kinds` (all when None) — added and removed positions, and modified ones with their
    field-level changes — in file order."""
    diff = _diff_counts_checked(
        tenant=tenant, project=project, from_number=from_number, to_number=to_number
    )
    if from_number == to_number:
        return diff
    counts = {
        "added": diff.added_count,
        "removed": diff.removed_count,
        "modified": diff.modified_count,
    }
    if limit is not None:
        diff.truncated = any(counts[kind] > limit for kind in kinds)
    if not kinds:
        return diff
    width = len(_DIFF_COLUMNS)
    with connection.cursor() as cursor:
        # One round trip for all the kinds asked for.
        cursor.execute(*_diff_query(project, from_number, to_number, _entries_sql(kinds, limit)))
        for kind_index, _, *row in cursor.fetchall():
            kind = DIFF_KINDS[kind_index]
            if kind == "modified":
                before, after = _row_dict(row[:width]), _row_dict(row[width:])
                diff.entries[kind].append(_modification(before, after))
            else:
                diff.entries[kind].append(
                    _row_dict(row[width:] if kind == "added" else row[:width])
                )
    return diff


@dataclass
class DiffPage:
    """One page of a diff's entries (all kinds together, in file order), with how many there are
    under the same filters."""

    entries: list[dict]
    total: int


_KIND_CASE = (
    "CASE WHEN o.id IS NULL THEN 'added' WHEN n.id IS NULL THEN 'removed' ELSE 'modified' END"
)
_PAGE_COLUMNS = ", ".join([*(f"o.{c}" for c in _DIFF_COLUMNS), *(f"n.{c}" for c in _DIFF_COLUMNS)])


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def version_diff_page(
    *,
    tenant: Tenant,
    project: Project,
    from_number: int,
    to_number: int,
    kinds: tuple[str, ...] = DIFF_KINDS,
    section: str = "",
    offset: int = 0,
    limit: int = 50,
) -> DiffPage:
    """A page of the diff's added, removed and modified positions (of `kinds`, in a section
    starting with `section`), in file order: `{"kind", "line_key", "position_number", "before",
    "after", "changes", "delta_cost"}` each. For staff pages; the API's diff is version_diff."""
    for number in {from_number, to_number}:
        version_get(tenant=tenant, project=project, number=number)
    if from_number == to_number or not kinds:
        return DiffPage(entries=[], total=0)
    where = "(" + " OR ".join(f"({_KINDS[kind]})" for kind in kinds) + ")"
    extra: list[Any] = []
    if section:
        where += " AND COALESCE(n.section, o.section) LIKE %s ESCAPE '\\'"
        extra.append(_like_prefix(section))
    count_sql, count_params = _diff_query(
        project,
        from_number,
        to_number,
        f"SELECT COUNT(*) FROM {_JOINED} WHERE {where}",  # noqa: S608 - our own fragments
    )
    page_sql, page_params = _diff_query(
        project,
        from_number,
        to_number,
        f"SELECT {_PAGE_COLUMNS}, {_KIND_CASE} FROM {_JOINED} WHERE {where} "  # noqa: S608
        "ORDER BY COALESCE(n.ordinal, o.ordinal) LIMIT %s OFFSET %s",
    )
    width = len(_DIFF_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(count_sql, [*count_params, *extra])
        total = int(cursor.fetchone()[0])
        cursor.execute(page_sql, [*page_params, *extra, int(limit), int(offset)])
        rows = cursor.fetchall()
    entries = []
    for row in rows:
        kind = row[-1]
        before = _row_dict(row[:width]) if kind != "added" else None
        after = _row_dict(row[width : 2 * width]) if kind != "removed" else None
        changes = _modification(before, after)["changes"] if before and after else {}
        old_total = (before or {}).get("total_price") or Decimal(0)
        new_total = (after or {}).get("total_price") or Decimal(0)
        shown = after or before or {}
        entries.append(
            {
                "kind": kind,
                "line_key": shown.get("line_key"),
                "position_number": shown.get("position_number"),
                "before": before,
                "after": after,
                "changes": changes,
                "delta_cost": new_total - old_total,
            }
        )
    return DiffPage(entries=entries, total=total)


def _row_dict(row: tuple) -> dict[str, Any]:
    """A raw row as the ORM would give it: SQLite hands back UUIDs as hex and numbers as floats."""
    values = dict(zip(_DIFF_COLUMNS, row, strict=True))
    if not isinstance(values["id"], UUID):
        values["id"] = UUID(str(values["id"]))
    if isinstance(values["takeoff"], str):  # SQLite keeps JSON as text
        values["takeoff"] = json.loads(values["takeoff"])
    for name in SCALES:
        value = values[name]
        if isinstance(value, float | int):
            values[name] = quantize(name, Decimal(str(value)))
    return values


def _modification(before: dict, after: dict) -> dict:
    changes = {
        name: {"from": before[name], "to": after[name]}
        for name in CONTENT_FIELDS
        if before[name] != after[name]
    }
    return {
        "line_key": after["line_key"],
        "position_number": after["position_number"],
        "from_id": before["id"],
        "to_id": after["id"],
        "changes": changes,
    }


# Comments -----------------------------------------------------------------------------------------
def comment_list(*, tenant: Tenant, project: Project) -> QuerySet[Comment]:
    return Comment.objects.for_tenant(tenant).filter(project=project).select_related("created_by")


def position_line_keys(*, project: Project, references: list[str]) -> list[str]:
    """Line keys of the positions named by id or line key; 404 naming any that is unknown (like an
    unknown id anywhere)."""
    ids, keys = [], []
    for reference in references:
        try:
            ids.append(UUID(str(reference)))
        except ValueError:
            keys.append(str(reference))
    rows = Position.objects.for_tenant(project.tenant).filter(project=project)
    by_id = dict(rows.filter(pk__in=ids).values_list("pk", "line_key")) if ids else {}
    known_keys = (
        set(rows.filter(line_key__in=keys).values_list("line_key", flat=True)) if keys else set()
    )
    unknown = [str(i) for i in ids if i not in by_id] + [k for k in keys if k not in known_keys]
    if unknown:
        raise ApiError(
            code="unknown_positions",
            message=f"No position of this project is {', '.join(map(repr, unknown))}.",
            details={"positions": unknown},
            status_code=404,
        )
    resolved = [by_id[i] for i in ids] + keys
    return list(dict.fromkeys(resolved))
