"""Running a job inline from a management command, with a progress bar: the same `job_execute`
the Celery task calls. Domain commands (import_budget, audit_project, …) use `job_run_inline`."""

import time
from typing import Any, TextIO

from jobs.models import Job, JobEvent
from jobs.progress import Progress
from jobs.services import JobRetryScheduled, job_create, job_execute
from projects.models import Project
from tenants.models import Tenant

BAR_WIDTH = 30


class ConsoleProgress(Progress):
    """Also draws a progress bar on `bar_stream` (redrawn in place on a terminal, one line per
    percent otherwise) and prints log lines to `log_stream`."""

    def __init__(self, job: Job, *, bar_stream: TextIO, log_stream: TextIO) -> None:
        super().__init__(job)
        self.bar_stream = bar_stream
        self.log_stream = log_stream
        self._interactive = bar_stream.isatty()
        self._bar = ""
        self._bar_percent: int | None = None

    def update(self, done: int, total: int, *, step: str | None = None) -> None:
        super().update(done, total, step=step)
        percent = min(100, int(100 * done / total)) if total else 0
        filled = BAR_WIDTH * percent // 100
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}% {self.step}"[:120]
        if self._interactive and bar != self._bar:
            self.bar_stream.write("\r" + bar.ljust(len(self._bar)))
        elif not self._interactive and percent != self._bar_percent:
            self.bar_stream.write(bar + "\n")
        self.bar_stream.flush()
        self._bar, self._bar_percent = bar, percent

    def emit(self, event_type: str, data: dict[str, Any], **options: Any) -> JobEvent:
        if event_type == "job.log":
            self.end_bar()
            self.log_stream.write(f"{data['level']}: {data['message']}\n")
            self.log_stream.flush()
        return super().emit(event_type, data, **options)

    def end_bar(self) -> None:
        """Move past the bar, so that what is printed next starts on its own line."""
        if self._interactive and self._bar:
            self.bar_stream.write("\n")
            self.bar_stream.flush()
            self._bar = ""


def job_run_inline(
    *,
    tenant: Tenant,
    kind: str,
    input: dict[str, Any],
    project: Project | None = None,
    bar_stream: TextIO,
    log_stream: TextIO,
) -> Job:
    """Create the job and run it here and now, waiting out the backoff of transient errors."""
    job = job_create(tenant=tenant, kind=kind, input=input, project=project, dispatch=False)
    runs: list[ConsoleProgress] = []

    def console_progress(claimed: Job) -> ConsoleProgress:
        runs.append(ConsoleProgress(claimed, bar_stream=bar_stream, log_stream=log_stream))
        return runs[-1]

    while True:
        try:
            job_execute(job_id=str(job.id), progress_class=console_progress)
        except JobRetryScheduled as retry:
            time.sleep(retry.countdown)
            continue
        finally:
            if runs:
                runs[-1].end_bar()
        break
    job.refresh_from_db()
    return job
