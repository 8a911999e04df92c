"""Verifying a project's chain of audit reports against evidence storage and the database.

Three kinds of tampering are caught:
- a stored document changed or removed: its SHA-256 no longer matches the report row;
- a report row's hash or link changed: the chain no longer links up;
- a result row changed after the fact (a finding's verdict, a position's status, the project's
  counts): it no longer agrees with the newest report, with the active waivers applied.
"""

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from audits.models import AuditReport, Finding, Waiver
from audits.rules.chain import ChainLink, verify_chain
from audits.rules.types import Recommendation
from audits.services import REPORT_POSITION_FIELDS, number_text
from evidence import storage
from projects.models import Position, Project
from projects.selectors import exact_total, valid_in

MAX_PROBLEMS = 50  # listed per kind; the count says how many in all
_RANK = {status.value: status.rank for status in Recommendation}


@dataclass
class ChainVerification:
    project: Project
    reports: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "project": str(self.project.id),
            "reports": self.reports,
            "problems": self.problems,
        }


def _stored_bytes(key: str) -> bytes | None:
    try:
        return b"".join(storage.iter_object(key))
    except FileNotFoundError:
        return None


def report_chain_verify(*, project: Project) -> ChainVerification:
    """Check every report of `project` (documents, hashes, links); then each audited version's
    findings against the newest report of that version, and the newest report's verdicts against
    the positions' statuses and the project's counts."""
    result = ChainVerification(project=project)
    reports = list(
        AuditReport.objects.filter(project=project)
        .select_related("document", "version")
        .order_by("number")
    )
    result.reports = len(reports)
    if not reports:
        return result
    # The newest report of each version: the one whose findings the database keeps.
    newest_of_version = {report.version_id: report for report in reports}
    kept: dict[int, bytes] = {}

    def links() -> Iterator[ChainLink]:
        # One document in memory at a time, but for the few compared with the database below.
        for report in reports:
            content = _stored_bytes(report.document.key)
            if report.document.sha256 != report.sha256:
                result.problems.append(
                    f"report {report.number}: its evidence row says SHA-256 "
                    f"{report.document.sha256}, the report says {report.sha256}"
                )
            if report.number == reports[-1].number and content is not None:
                kept[report.number] = content
            yield ChainLink(report.number, report.sha256, report.previous_sha256, content)

    result.problems += verify_chain(links())
    if result.problems:
        return result  # nothing trustworthy to compare the database with
    for report in sorted(newest_of_version.values(), key=lambda r: r.number):
        content = kept.get(report.number) or _stored_bytes(report.document.key)
        if content is None:  # removed since the chain was read
            result.problems.append(f"report {report.number}: the stored document is missing")
            continue
        document = json.loads(content)
        result.problems += _compare_findings(report, document)
        if report.number == reports[-1].number:
            result.problems += _compare_statuses(project, report, document)
    return result


def _finding_key(
    position: str,
    rule: str,
    recommendation: str,
    confidence: Any,
    reasoning: str,
    suggested_fix: str,
    evidence: dict,
) -> tuple:
    return (
        position,
        rule,
        recommendation,
        number_text(confidence),
        reasoning,
        suggested_fix,
        json.dumps(evidence, sort_keys=True, ensure_ascii=False),
    )


def _listed(problems: list[str], what: str, found: list[str]) -> None:
    problems += found[:MAX_PROBLEMS]
    if len(found) > MAX_PROBLEMS:
        problems.append(f"… {len(found)} {what} in all")


def _compare_findings(report: AuditReport, document: dict) -> list[str]:
    """The report row's counts and the version's finding rows against the document."""
    problems: list[str] = []
    label = f"report {report.number}"
    counts = document.get("counts", {})
    expected_row = {
        "version": report.version.number,
        "green": report.green_count,
        "amber": report.amber_count,
        "red": report.red_count,
        "findings": report.finding_count,
        "catalog_version": report.catalog_version,
    }
    stated = {name: counts.get(name) for name in expected_row}
    stated["version"] = document.get("version")
    stated["catalog_version"] = (document.get("catalog") or {}).get("version")
    for name, value in expected_row.items():
        if stated.get(name) != value:
            problems.append(
                f"{label}: the database says {name} {value}, the document {stated.get(name)}"
            )

    # Findings: the version's rows against the document's, as multisets.
    in_document = Counter(
        _finding_key(
            f["position"],
            f["rule"],
            f["recommendation"],
            f["confidence"],
            f["reasoning"],
            f["suggested_fix"],
            f["evidence"],
        )
        for f in document.get("findings", [])
    )
    in_database = Counter(
        _finding_key(str(position), *rest)
        for position, *rest in Finding.objects.filter(version=report.version)
        .order_by()
        .values_list(
            "position_id",
            "rule",
            "recommendation",
            "confidence",
            "reasoning",
            "suggested_fix",
            "evidence",
        )
        .iterator(chunk_size=10_000)
    )
    missing = in_document - in_database
    extra = in_database - in_document
    _listed(
        problems,
        "findings missing or changed",
        [
            f"{label}: finding {key[1]} ({key[2]}) of position {key[0]} is not in the database "
            "as reported"
            for key in missing
        ],
    )
    _listed(
        problems,
        "findings not in the report",
        [
            f"{label}: the database has finding {key[1]} ({key[2]}) of position {key[0]} "
            "that the report does not"
            for key in extra
        ],
    )

    return problems


def _compare_statuses(project: Project, report: AuditReport, document: dict) -> list[str]:
    """The statuses of the report's positions (its findings minus the waivers active now) and
    the project's cached counts."""
    problems: list[str] = []
    label = f"report {report.number}"
    waived = set(
        Waiver.objects.filter(version=report.version, withdrawn_at__isnull=True).values_list(
            "line_key", "rule"
        )
    )
    worst: dict[str, str] = {}
    for f in document.get("findings", []):
        if (f["line_key"], f["rule"]) in waived:
            continue
        current = worst.get(f["position"], "green")
        if _RANK[f["recommendation"]] > _RANK[current]:
            worst[f["position"]] = f["recommendation"]
    fields = document.get("positions", {}).get("fields", list(REPORT_POSITION_FIELDS))
    id_at = fields.index("id")
    expected_status = {
        row[id_at]: worst.get(row[id_at], "green")
        for row in document.get("positions", {}).get("rows", [])
    }
    actual_status = {
        str(position_id): status
        for position_id, status in Position.objects.filter(project=project)
        .filter(valid_in(report.version.number))
        .values_list("id", "audit_status")
        .iterator(chunk_size=10_000)
    }
    wrong = [
        f"{label}: position {position_id} is {actual_status.get(position_id, 'missing')}, "
        f"the report and the waivers make it {status}"
        for position_id, status in expected_status.items()
        if actual_status.get(position_id) != status
    ]
    wrong += [
        f"{label}: position {position_id} of version {report.version.number} is not in the report"
        for position_id in actual_status.keys() - expected_status.keys()
    ]
    _listed(problems, "positions whose status disagrees", wrong)

    totals = exact_total(Position.objects.filter(project=project, valid_to__isnull=True))
    row = (
        Project.objects.filter(pk=project.pk)
        .values("green_count", "amber_count", "red_count")
        .get()
    )
    cached = {name.removesuffix("_count"): value for name, value in row.items()}
    for name, value in cached.items():
        if totals[name] != value:
            problems.append(
                f"project: its {name} count says {value}, its current positions {totals[name]}"
            )
    return problems
