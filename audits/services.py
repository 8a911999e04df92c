"""Audit runs and waivers.

An audit reads a version's positions, the catalog editions it compares them with and (when that
rule runs) the tenant's other projects' prices of the same codes in bulk, and runs the pure rules
of audits.rules outside any transaction; then, under the project's row lock and in ONE transaction,
it stores the canonical report in evidence storage chained to the project's previous report,
replaces the version's findings (COPY on PostgreSQL), sets the status of the version's rows and the
project's counts. Re-running an audit replaces the version's results atomically.

A waiver takes one finding (by version, line key and rule, so it outlives a re-audit) out of its
position's status; withdrawing it puts it back. Both stay in the history. The reports are never
rewritten: verification (projects/services/reports.py) accounts for the active waivers.
"""

import contextlib
import gc
import io
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audits.bulk import finding_row, findings_write, rows_fetch_text_ids
from audits.models import AuditReport, Finding, Waiver
from audits.rules.chain import canonical_bytes, digest
from audits.rules.engine import audit_positions, enabled_rules
from audits.rules.references import edition_key
from audits.rules.types import (
    AuditPosition,
    CatalogEntry,
    Policy,
    Recommendation,
    Reference,
    number_text,
)
from audits.selectors import peer_price_samples
from catalogs.models import CatalogEdition, CatalogItem, PriceCatalog
from catalogs.services import edition_data
from core.errors import ApiError
from evidence.models import Evidence
from evidence.services import evidence_store_file
from jobs.models import Job
from jobs.progress import NoProgress
from projects.bulk import positions_set_status
from projects.models import BudgetVersion, Position, Project
from projects.selectors import exact_total, position_list
from projects.services.projects import project_status_set, project_status_settle
from projects.services.versions import project_lock

REPORT_FORMAT = "kalkula.audit-report/1"
REPORT_POSITION_FIELDS = ("id", "line_key", "source_line", "status")
_RANK: dict[str, int] = {status: Recommendation(status).rank for status in Recommendation}
_READ_FIELDS = (
    "id",
    "line_key",
    "position_number",
    "code",
    "description",
    "unit",
    "quantity",
    "unit_price",
    "total_price",
    "source_line",
    "kind",
    "price_system",
    "section",
    "takeoff",
)
_TAKEOFF = _READ_FIELDS.index("takeoff")  # the last


class AuditFailed(Exception):
    """The audit cannot run (no version, an empty catalog, an archived project): nothing written."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass
class AuditReference:
    """What an audit compared prices with, as its report and result say it."""

    edition: CatalogEdition | None = None  # the chosen edition, or the catalog's newest
    chosen: bool = False
    index: Decimal | None = None
    named: list[CatalogEdition] = field(default_factory=list)  # editions positions named

    def as_document(self) -> dict[str, Any]:
        return {
            "mode": "chosen" if self.chosen else "named",
            "edition": _edition_document(self.edition),
            "index": None if self.index is None else number_text(self.index),
            "named_editions": [_edition_document(e) for e in self.named],
        }


def _edition_document(edition: CatalogEdition | None) -> dict[str, Any] | None:
    data = edition_data(edition)
    return None if data is None or edition is None else {**data, "catalog": str(edition.catalog_id)}


@dataclass
class AuditOutcome:
    report: AuditReport
    positions: int
    waived: int
    reference: AuditReference | None = None

    def as_result(self) -> dict[str, Any]:
        report = self.report
        reference = self.reference.as_document() if self.reference is not None else None
        return {
            "report": str(report.id),
            "report_number": report.number,
            "sha256": report.sha256,
            "document": str(report.document_id),
            "version": report.version.number,
            "catalog": str(report.catalog_id) if report.catalog_id else None,
            "catalog_version": report.catalog_version,
            "positions": self.positions,
            "counts": {
                "green": report.green_count,
                "amber": report.amber_count,
                "red": report.red_count,
            },
            "findings": report.finding_count,
            "waived": self.waived,
            "reference": reference,
        }


def audit_run(
    *,
    project: Project,
    version: BudgetVersion | None = None,
    catalog: PriceCatalog | None = None,
    edition: CatalogEdition | None = None,
    index: Decimal | None = None,
    policy: Policy | None = None,
    job: Job | None = None,
    progress: Any = None,
    created_by: User | None = None,
    actor: str = "",
) -> AuditOutcome:
    """Audit `version` (the current one by default) of `project` with `policy` (the defaults
    when None). Prices are compared with the edition each position names (its price system), or,
    when it names none, with `catalog`'s newest edition (no catalog: the catalog and cost rules
    stay silent for it); with `edition`, every position is compared with that edition, its
    prices indexed by `index` percent. Raises AuditFailed when it cannot run; then nothing is
    written."""
    progress = progress or NoProgress()
    policy = policy or Policy()
    if version is None:
        project.refresh_from_db(fields=["current_version"])
        version = project.current_version
        if version is None:
            raise AuditFailed("no_version", "The project has no budget yet: import one first.")
    if version.project_id != project.pk:
        raise ValueError("the version belongs to another project")
    if catalog is not None and catalog.tenant_id != project.tenant_id:
        raise ValueError("the catalog belongs to another tenant")
    if catalog is not None and catalog.version < 1:
        raise AuditFailed("catalog_empty", f"Catalog {catalog.name!r} has no imported edition yet.")
    if edition is not None and edition.tenant_id != project.tenant_id:
        raise ValueError("the edition belongs to another tenant")
    if index is not None and edition is None:
        raise ValueError("a price index applies to a chosen edition")
    if not project_status_set(project=project, status=Project.Status.AUDITING):
        raise AuditFailed("project_archived", "The project is archived: it cannot change.")
    try:
        with _gc_paused():
            progress.update(0, 100, step="reading positions")
            rows = rows_fetch_text_ids(
                queryset=position_list(
                    tenant=project.tenant, project=project, version=version.number
                ).values_list(*_READ_FIELDS)
            )
            line_keys = [row[1] for row in rows]
            positions = [_position(row) for row in rows]
            del rows
            reference, used = _reference(
                project=project, positions=positions, catalog=catalog, edition=edition, index=index
            )
            peers = (
                peer_price_samples(
                    tenant=project.tenant,
                    project=project,
                    codes={p.code for p in positions if p.code},
                    min_sample=policy.outlier_min_sample,
                )
                if "outliers.tenant" in enabled_rules(policy)
                else {}
            )
            progress.update(20, 100, step="auditing")
            progress.check_cancelled()
            results = audit_positions(
                positions=positions,
                policy=policy,
                reference=reference,
                peers=peers,
                not_counted=Position.NOT_COUNTED_KINDS,
            )
            progress.update(50, 100, step="writing the results")
            progress.check_cancelled()
            with transaction.atomic():
                try:
                    project = project_lock(project=project)
                except ApiError as exc:
                    raise AuditFailed(exc.error_code, str(exc.detail)) from None
                outcome = _write(
                    project=project,
                    version=version,
                    reference=used,
                    policy=policy,
                    positions=positions,
                    line_keys=line_keys,
                    results=results,
                    job=job,
                    progress=progress,
                    created_by=created_by,
                    actor=actor,
                )
    except BaseException:
        project_status_settle(project=project)
        raise
    report = outcome.report
    progress.update(100, 100, step="done")
    progress.log(
        f"Report {report.number} of version {version.number}: {report.green_count} green, "
        f"{report.amber_count} amber, {report.red_count} red ({report.finding_count} findings, "
        f"{outcome.waived} waived)."
    )
    return outcome


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while an audit runs: it makes a few hundred thousand objects
    (rows, positions, findings, the report) that form no cycles, and the collector would walk all
    of them again and again (a third of the rules' time at 100,000 positions). Collection resumes
    at the end; another thread's audit that finds it paused leaves it to the first."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _position(row: tuple) -> AuditPosition:
    """A read position (_READ_FIELDS, the id as text) as the rules take it, the take-off as a
    list (PostgreSQL's raw read hands JSON over as text)."""
    takeoff = row[_TAKEOFF]
    if takeoff.__class__ is str:
        takeoff = json.loads(takeoff) if takeoff != "[]" else ()
    return AuditPosition._make((row[0], *row[2:_TAKEOFF], takeoff or ()))


def _reference(
    *,
    project: Project,
    positions: list[AuditPosition],
    catalog: PriceCatalog | None,
    edition: CatalogEdition | None,
    index: Decimal | None,
) -> tuple[Reference, AuditReference]:
    """The editions the positions are compared with, their items read in one query: the chosen
    edition; or the editions the positions name (when the tenant has them) and the catalog's
    newest edition for positions that name none."""
    if edition is not None:
        entries = _edition_entries([edition])
        reference = Reference(default=entries[edition.pk], chosen=True, index=index)
        return reference, AuditReference(edition=edition, chosen=True, index=index)
    default = (
        CatalogEdition.objects.filter(catalog=catalog, number=catalog.version)
        .select_related("catalog")
        .first()
        if catalog is not None
        else None
    )
    wanted = {key for key in {edition_key(p.price_system) for p in positions} if key}
    named: dict[str, CatalogEdition] = {}
    if wanted:
        # The tenant's editions by name, the catalog's own first, then the newest.
        candidates = CatalogEdition.objects.for_tenant(project.tenant).select_related("catalog")
        for candidate in sorted(
            candidates,
            key=lambda e: (e.catalog_id != getattr(catalog, "pk", None), -e.created_at.timestamp()),
        ):
            key = edition_key(candidate.name)
            if key in wanted:
                named.setdefault(key, candidate)
    loaded = [e for e in (default, *named.values()) if e is not None]
    entries = _edition_entries(loaded) if loaded else {}
    reference = Reference(
        default=entries[default.pk] if default is not None else None,
        editions={key: entries[e.pk] for key, e in named.items()},
    )
    used = sorted({e.pk: e for e in named.values()}.values(), key=lambda e: e.name)
    return reference, AuditReference(edition=default, named=used)


def _edition_entries(editions: list[CatalogEdition]) -> dict[Any, dict[str, CatalogEntry]]:
    """Each edition's items by code, in one query."""
    by_id = {str(edition.pk): edition for edition in editions}
    entries: dict[Any, dict[str, CatalogEntry]] = defaultdict(dict)
    texts = {pk: (str(e.catalog_id), e.number, e.name) for pk, e in by_id.items()}
    for item_id, edition_id, code, description, unit, unit_price in rows_fetch_text_ids(
        queryset=CatalogItem.objects.filter(edition__in=list(by_id)).values_list(
            "id", "edition_id", "code", "description", "unit", "unit_price"
        ),
        id_columns=(0, 1),
    ):
        catalog_id, number, name = texts[edition_id]
        entries[edition_id][code] = CatalogEntry(
            item_id, code, description, unit, unit_price, catalog_id, number, name
        )
    return {edition.pk: entries[pk] for pk, edition in by_id.items()}


def _write(
    *,
    project: Project,
    version: BudgetVersion,
    reference: AuditReference,
    policy: Policy,
    positions: list[AuditPosition],
    line_keys: list[str],
    results: dict[str, list],
    job: Job | None,
    progress: Any,
    created_by: User | None,
    actor: str,
) -> AuditOutcome:
    """The locked project's report, findings and statuses, all in the caller's transaction."""
    waived = set(
        Waiver.objects.filter(version=version, withdrawn_at__isnull=True).values_list(
            "line_key", "rule"
        )
    )
    previous = AuditReport.objects.filter(project=project).order_by("-number").first()
    now = timezone.now()
    report_id = uuid.uuid4()
    edition = reference.edition
    catalog = edition.catalog if edition is not None else None
    position_rows: list[list] = []
    # A confidence as the report writes it and as it is stored (a rule has one or two).
    confidences: dict[Decimal, tuple[str, Decimal]] = {}
    document_findings: list[dict] = []
    finding_rows: list[tuple] = []
    ids_by_status: dict[str, list] = {status.value: [] for status in Recommendation}
    counts: Counter = Counter()
    waived_count = 0
    for position, line_key in zip(positions, line_keys, strict=True):
        position_id, source_line = position.id, position.source_line
        worst = Recommendation.GREEN
        for finding in results[position_id]:
            is_waived = (line_key, finding.rule) in waived
            if is_waived:
                waived_count += 1
            elif finding.recommendation.rank > worst.rank:
                worst = finding.recommendation
            confidence, stored_confidence = confidences.get(
                finding.confidence
            ) or confidences.setdefault(
                finding.confidence,
                (number_text(finding.confidence), Decimal(number_text(finding.confidence))),
            )
            document_findings.append(
                {
                    "position": position_id,
                    "line_key": line_key,
                    "rule": finding.rule,
                    "role": finding.role,
                    "recommendation": finding.recommendation.value,
                    "confidence": confidence,
                    "reasoning": finding.reasoning,
                    "suggested_fix": finding.suggested_fix,
                    "evidence": finding.evidence,
                    "waived": is_waived,
                }
            )
            finding_rows.append(
                finding_row(
                    version=version,
                    position_id=position_id,
                    line_key=line_key,
                    rule=finding.rule,
                    role=finding.role,
                    recommendation=finding.recommendation.value,
                    confidence=stored_confidence,
                    reasoning=finding.reasoning,
                    source_line=source_line,
                    created_at=now,
                    suggested_fix=finding.suggested_fix,
                    evidence=finding.evidence,
                    catalog_id=finding.evidence.get("catalog"),
                    catalog_item_id=finding.evidence.get("catalog_item"),
                    catalog_version=finding.evidence.get("catalog_version"),
                    report_id=report_id,
                )
            )
        counts[worst.value] += 1
        ids_by_status[worst.value].append(position_id)
        position_rows.append([position_id, line_key, source_line, worst.value])
    number = previous.number + 1 if previous is not None else 1
    previous_sha256 = previous.sha256 if previous is not None else ""
    document = {
        "format": REPORT_FORMAT,
        "tenant": str(project.tenant_id),
        "project": str(project.id),
        "project_name": project.name,
        "number": number,
        "previous_sha256": previous_sha256,
        "version": version.number,
        "catalog": None
        if edition is None or catalog is None
        else {"id": str(catalog.id), "name": catalog.name, "version": edition.number},
        "reference": reference.as_document(),
        "policy": policy.settings(),
        "audited_at": now.isoformat(),
        "actor": actor,
        "job": str(job.id) if job is not None else None,
        "counts": {
            "positions": len(positions),
            "green": counts["green"],
            "amber": counts["amber"],
            "red": counts["red"],
            "findings": len(finding_rows),
            "waived": waived_count,
        },
        "positions": {"fields": list(REPORT_POSITION_FIELDS), "rows": position_rows},
        "findings": document_findings,
    }
    # Results first, the report last: a report that cannot be stored (the evidence quota) undoes
    # them with the transaction. The findings name the report row created below; foreign keys are
    # checked at commit.
    Finding.objects.filter(version=version).delete()
    findings_write(rows=finding_rows)
    progress.update(70, 100)
    positions_set_status(project=project, ids_by_status=ids_by_status)
    progress.update(85, 100)
    content = canonical_bytes(document)
    stored = evidence_store_file(
        tenant=project.tenant,
        fileobj=io.BytesIO(content),
        name=f"audit-report-{number}-v{version.number}.json",
        kind=Evidence.Kind.REPORT,
        project=project,
        uploaded_by=created_by,
    )
    progress.update(95, 100)
    report = AuditReport.objects.create(
        id=report_id,
        tenant_id=project.tenant_id,
        project=project,
        version=version,
        number=number,
        catalog=catalog,
        catalog_version=edition.number if edition is not None else None,
        sha256=digest(content),
        previous_sha256=previous_sha256,
        document=stored.evidence,
        green_count=counts["green"],
        amber_count=counts["amber"],
        red_count=counts["red"],
        finding_count=len(finding_rows),
        job=job,
        created_by=created_by if getattr(created_by, "pk", None) else None,
        actor=actor[:200],
    )
    # The audited version's rows are the current ones when it is the current version: its counts
    # are the project's, without counting them again.
    current = version.pk == project.current_version_id
    project_counts_refresh(
        project=project, status=Project.Status.READY, counts=counts if current else None
    )
    return AuditOutcome(
        report=report, positions=len(positions), waived=waived_count, reference=reference
    )


def project_counts_refresh(
    *, project: Project, status: str | None = None, counts: dict[str, int] | None = None
) -> None:
    """Recount the green/amber/red rows of the current version into the project's cache (or
    store `counts`, when the caller knows them)."""
    totals = counts or exact_total(Position.objects.filter(project=project, valid_to__isnull=True))
    project.green_count = totals.get("green", 0)
    project.amber_count = totals.get("amber", 0)
    project.red_count = totals.get("red", 0)
    fields = ["green_count", "amber_count", "red_count", "updated_at"]
    if status is not None:
        project.status = status
        fields.append("status")
    project.save(update_fields=fields)


# Waivers ------------------------------------------------------------------------------------------
def finding_waive(
    *,
    finding: Finding,
    reason: str,
    created_by: User | None = None,
    actor: str = "",
) -> Waiver:
    """Waive `finding`: it no longer counts toward its position's status (in this version, and in
    later audits of it) until the waiver is withdrawn."""
    reason = _reason_given(reason)
    with transaction.atomic():
        project = project_lock(project=finding.project)
        active = Waiver.objects.filter(
            version_id=finding.version_id,
            line_key=finding.line_key,
            rule=finding.rule,
            withdrawn_at__isnull=True,
        ).first()
        if active is not None:
            raise ApiError(
                code="already_waived",
                message=f"This finding is waived already (waiver {active.id}).",
                status_code=409,
                details={"waiver": str(active.id)},
            )
        waiver = Waiver.objects.create(
            tenant_id=project.tenant_id,
            project=project,
            version_id=finding.version_id,
            line_key=finding.line_key,
            rule=finding.rule,
            finding_reasoning=finding.reasoning,
            reason=reason,
            created_by=created_by if getattr(created_by, "pk", None) else None,
            actor=actor[:200],
        )
        _restatus(project=project, version_id=finding.version_id, line_key=finding.line_key)
    return waiver


def waiver_withdraw(*, waiver: Waiver, reason: str, by: str = "") -> Waiver:
    """Withdraw a waiver, saying why: its finding counts again. The waiver stays in the history."""
    reason = _reason_given(reason)
    with transaction.atomic():
        project = project_lock(project=waiver.project)
        waiver = Waiver.objects.select_for_update().get(pk=waiver.pk)
        if waiver.withdrawn_at is not None:
            raise ApiError(
                code="already_withdrawn",
                message="This waiver was withdrawn already.",
                status_code=409,
            )
        waiver.withdrawn_at = timezone.now()
        waiver.withdrawn_by = by[:200]
        waiver.withdrawn_reason = reason
        waiver.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
        _restatus(project=project, version_id=waiver.version_id, line_key=waiver.line_key)
    return waiver


def _reason_given(reason: str) -> str:
    """A waiver and its withdrawal each say why: the reason, stripped, or a 400."""
    reason = reason.strip()
    if not reason:
        raise ApiError(code="invalid", message="reason: say why.", details={"reason": ["required"]})
    return reason


def _restatus(*, project: Project, version_id: Any, line_key: str) -> None:
    """Recompute the status of a position from its findings minus the active waivers, when the
    version's audit is the newest one that covered the row; then the project's counts."""
    waived = set(
        Waiver.objects.filter(
            version_id=version_id, line_key=line_key, withdrawn_at__isnull=True
        ).values_list("rule", flat=True)
    )
    worst: dict[Any, str] = {}
    for position_id, rule, recommendation in Finding.objects.filter(
        version_id=version_id, line_key=line_key
    ).values_list("position_id", "rule", "recommendation"):
        status = worst.setdefault(position_id, Recommendation.GREEN.value)
        if rule not in waived and _RANK[recommendation] > _RANK[status]:
            worst[position_id] = recommendation
    changed = False
    for position in Position.objects.filter(pk__in=list(worst)):
        newest = (
            AuditReport.objects.filter(project=project, version__number__gte=position.valid_from)
            .filter(Q(version__number__lt=position.valid_to) if position.valid_to else Q())
            .order_by("-number")
            .values_list("version_id", flat=True)
            .first()
        )
        if newest == version_id and position.audit_status != worst[position.pk]:
            Position.objects.filter(pk=position.pk).update(audit_status=worst[position.pk])
            changed = True
    if changed:
        project_counts_refresh(project=project)
