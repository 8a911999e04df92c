import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApiError
from jobs.console import ConsoleBar, job_run_inline
from jobs.models import Job
from legacy import sources as legacy
from legacy.services import legacy_import_start, legacy_migrate, legacy_tenants_sync
from tenants.models import Tenant

WHY_WIDTH = 70


class Command(BaseCommand):
    help = (
        "Migrate a legacy installation: a file store (`--tenant acme path/to/data/projects`) or a "
        "multi-tenant JSONL export (`--jsonl path/to/export`). Run it with --dry-run first, then "
        "for real, then with --verify. Stopped, it resumes when run again and never duplicates. "
        "Exits non-zero when anything was rejected (or, with --verify, differs)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--tenant", help="The tenant (slug) receiving a file store.")
        parser.add_argument("--jsonl", action="store_true", help="The path is a JSONL export.")
        parser.add_argument("--dry-run", action="store_true", help="Read and check; write nothing.")
        parser.add_argument(
            "--verify", action="store_true", help="Compare the source with what was migrated."
        )
        parser.add_argument("--report", type=Path, help="Also write the report here as JSON.")
        parser.add_argument(
            "--job",
            action="store_true",
            help="Queue it as background job(s) for the workers instead of running it here.",
        )

    def handle(self, *args, path: Path, tenant: str | None, jsonl: bool, **options):
        if options["dry_run"] and options["verify"]:
            raise CommandError("--dry-run and --verify do not go together.")
        if not path.is_dir():
            raise CommandError(f"No folder {path}.")
        path = path.resolve()
        mode = legacy.JSONL if jsonl else legacy.STORE
        if mode == legacy.STORE:
            if not tenant:
                raise CommandError(
                    "A file store needs --tenant (the slug of the receiving tenant)."
                )
            tenant_obj = Tenant.objects.filter(slug=tenant).first()
            if tenant_obj is None:
                raise CommandError(f"No tenant {tenant!r}.")
            targets: list[tuple[Tenant | None, str]] = [(tenant_obj, "")]
            early: list[dict] = []
        else:
            targets, early = self._jsonl_tenants(path, tenant, dry_run=options["dry_run"])
        if options["job"]:
            self._queue(targets, mode=mode, path=path, options=options)
            return
        runs = [
            self._run(target, legacy_tenant, mode=mode, path=path, options=options)
            for target, legacy_tenant in targets
        ]
        self._finish(runs, early, options)

    # JSONL: the export's tenants become ours (created when missing), one run per tenant.
    def _jsonl_tenants(
        self, path: Path, only: str | None, *, dry_run: bool
    ) -> tuple[list[tuple[Tenant | None, str]], list[dict]]:
        tenants, rejections = legacy_tenants_sync(path=path, dry_run=dry_run)
        targets = []
        for entry in tenants:
            if only and only not in (entry["slug"], entry["legacy_id"]):
                continue
            if entry["created"]:
                verb = "would be created" if dry_run else "created"
                self.stdout.write(
                    f"Tenant {entry['slug']} ({entry['name']}, plan {entry['plan']}) {verb}."
                )
            targets.append((entry["tenant"], entry["legacy_id"]))
        if only and not targets:
            raise CommandError(f"No tenant {only!r} in tenants.jsonl.")
        return targets, [rejection.as_dict() for rejection in rejections]

    def _start(
        self, tenant: Tenant, legacy_tenant: str, *, mode: str, path: Path, options: dict, **kw
    ) -> Job:
        try:
            return legacy_import_start(
                tenant=tenant,
                path=path,
                mode=mode,
                legacy_tenant=legacy_tenant,
                dry_run=options["dry_run"],
                verify=options["verify"],
                **kw,
            )
        except ApiError as exc:  # the monthly job quota
            raise CommandError(f"{tenant.slug}: {exc.detail}") from None

    def _run(
        self,
        tenant: Tenant | None,
        legacy_tenant: str,
        *,
        mode: str,
        path: Path,
        options: dict,
    ) -> dict[str, Any]:
        label = tenant.slug if tenant is not None else legacy.tenant_slug(legacy_tenant)
        self.stdout.write(self.style.MIGRATE_HEADING(f"Tenant {label}"))
        if tenant is None:  # a dry run for a tenant that does not exist yet: no job to hold it
            bar = ConsoleBar(bar_stream=self.stderr, log_stream=self.stdout)
            report = legacy_migrate(
                tenant=None,
                mode=mode,
                path=path,
                legacy_tenant=legacy_tenant,
                dry_run=True,
                progress=bar,
            )
            bar.end_bar()
            return report.as_dict()
        job = self._start(
            tenant, legacy_tenant, mode=mode, path=path, options=options, dispatch=False
        )
        job = job_run_inline(job=job, bar_stream=self.stderr, log_stream=self.stdout)
        if job.status != Job.Status.SUCCEEDED:
            error = job.error or {}
            raise CommandError(
                f"The migration of {label} failed ({error.get('code')}): {error.get('message')} "
                f"(job {job.id})."
            )
        assert job.result is not None  # a succeeded job has its result
        return {**job.result, "job": str(job.id)}

    def _queue(self, targets: list, *, mode: str, path: Path, options: dict) -> None:
        for tenant, legacy_tenant in targets:
            if tenant is None:
                raise CommandError(
                    f"Tenant {legacy.tenant_slug(legacy_tenant)} does not exist yet: run without "
                    "--dry-run, or without --job."
                )
            job = self._start(tenant, legacy_tenant, mode=mode, path=path, options=options)
            self.stdout.write(f"Job {job.id} queued for {tenant.slug}.")

    # Output -----------------------------------------------------------------------------------
    def _finish(self, runs: list[dict], early: list[dict], options: dict) -> None:
        verify = options["verify"]
        rejected = _unique([*early, *(item for run in runs for item in run["rejected"])])
        for run in runs:
            if verify:
                self._verify_table(run)
            else:
                self._migration_table(run)
        self._rejected_table(rejected)
        differences = sum(run.get("differences", 0) for run in runs)
        document = {
            "verify" if verify else "migration": runs,
            "rejected": rejected,
            "ok": (differences == 0) if verify else not rejected,
        }
        if options["report"]:
            options["report"].write_text(json.dumps(document, indent=1, ensure_ascii=False))
            self.stdout.write(f"Report written to {options['report']}.")
        if verify:
            if differences:
                raise CommandError(f"{differences} difference(s) between the source and Kalkula.")
            self.stdout.write(self.style.SUCCESS("Verified: everything migrated is here."))
            return
        counts = [run["counts"] for run in runs]
        summary = (
            f"{sum(c['migrated'] for c in counts)} project(s) "
            f"{'would be ' if options['dry_run'] else ''}migrated "
            f"({sum(c['positions'] for c in counts)} positions, "
            f"{sum(c['findings'] for c in counts)} findings, "
            f"{sum(c['evidence'] for c in counts)} documents), "
            f"{sum(c['skipped'] for c in counts)} skipped as migrated already"
        )
        if rejected:
            raise CommandError(f"{summary}; {len(rejected)} thing(s) rejected (listed above).")
        self.stdout.write(self.style.SUCCESS(summary + "."))

    def _migration_table(self, run: dict) -> None:
        rows = [
            (
                item["id"],
                "would migrate" if run["dry_run"] else "migrated",
                str(item["positions"]),
                item["total_cost"],
                str(item["findings"]),
                str(item["evidence"]),
            )
            for item in run["migrated"]
        ]
        rows += [(item["id"], "skipped", "", "", "", "") for item in run["skipped"]]
        self._table(
            f"{run['tenant']}: projects",
            ("project", "result", "positions", "total cost", "findings", "documents"),
            rows,
        )

    def _verify_table(self, run: dict) -> None:
        rows = []
        for item in run["projects"]:
            rows.append(
                (
                    item["id"],
                    *(f"{item[name][0]} / {item[name][1]}" for name in _COMPARED),
                    "ok" if not item["differences"] else "; ".join(item["differences"]),
                )
            )
        self._table(
            f"{run['tenant']}: source / Kalkula",
            ("project", "positions", "total cost", "findings", "documents", "result"),
            rows,
        )

    def _rejected_table(self, rejected: list[dict]) -> None:
        if not rejected:
            return
        rows = [
            (
                item["kind"],
                item.get("tenant", ""),
                item["id"],
                f"{item.get('file', '')}{':' + str(item['line']) if 'line' in item else ''}",
                item["why"][:WHY_WIDTH],
            )
            for item in rejected
        ]
        self._table("Rejected", ("what", "tenant", "id", "where", "why"), rows)

    def _table(self, title: str, header: tuple, rows: list[tuple]) -> None:
        widths = [
            max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)
        ]
        self.stdout.write(f"\n{title}")
        for index, row in enumerate([header, *rows]):
            self.stdout.write(
                "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
            if index == 0:
                self.stdout.write("  ".join("-" * width for width in widths))


_COMPARED = ("positions", "total_cost", "findings", "files")


def _unique(items: list[dict]) -> list[dict]:
    """Rejections once each (lines of no known tenant are reported by every tenant's run)."""
    seen, unique = set(), []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
