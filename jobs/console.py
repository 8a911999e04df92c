"""Running a job inline from a management command, with a progress bar: the same `job_execute`
the Celery task calls. Domain commands (import_budget, audit_project, …) use `job_run_inline`."""

import time
from typing import Any, TextIO

from django.core.management.base import OutputWrapper

from jobs.models import Job, JobEvent
from jobs.progress import Progress
from jobs.services import JobRetryScheduled, job_execute

BAR_WIDTH = 30
# Problems of a failed job a command lists (the job keeps them all).
SHOWN_PROBLEMS = 20
# A command's self.stdout or self.stderr, or a plain text stream.
Stream = TextIO | OutputWrapper


class _Bar:
    """A progress bar on `stream`: redrawn in place on a terminal, one line per percent
    otherwise."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self._interactive = stream.isatty()
        self._bar = ""
        self._percent: int | None = None

    def draw(self, percent: int, step: str) -> None:
        filled = BAR_WIDTH * percent // 100
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}% {step}"[:120]
        if self._interactive and bar != self._bar:
            self._write("\r" + bar.ljust(len(self._bar)))
        elif not self._interactive and percent != self._percent:
            self._write(bar + "\n")
        self.stream.flush()
        self._bar, self._percent = bar, percent

    def end(self) -> None:
        if self._interactive and self._bar:
            self._write("\n")
            self.stream.flush()
            self._bar = ""

    def _write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            # It ends every write with a newline unless told otherwise: the bar is redrawn in
            # place, on one line.
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)


class ConsoleProgress(Progress):
    """Also draws a progress bar on `bar_stream` and prints log lines to `log_stream`."""

    def __init__(self, job: Job, *, bar_stream: Stream, log_stream: Stream) -> None:
        super().__init__(job)
        self.bar = _Bar(bar_stream)
        self.log_stream = log_stream

    def update(self, done: int, total: int, *, step: str | None = None) -> None:
        super().update(done, total, step=step)
        self.bar.draw(min(100, int(100 * done / total)) if total else 0, self.step)

    def emit(self, event_type: str, data: dict[str, Any], **options: Any) -> JobEvent:
        if event_type == "job.log":
            self.end_bar()
            self.log_stream.write(f"{data['level']}: {data['message']}\n")
            self.log_stream.flush()
        return super().emit(event_type, data, **options)

    def end_bar(self) -> None:
        """Move past the bar, so that what is printed next starts on its own line."""
        self.bar.end()


class ConsoleBar:
    """The console half of ConsoleProgress for work that runs without a job (a dry run for a
    tenant that does not exist yet): the same bar and log lines, nothing stored."""

    def __init__(self, *, bar_stream: Stream, log_stream: Stream) -> None:
        self.bar = _Bar(bar_stream)
        self.log_stream = log_stream
        self.step = ""

    def update(self, done: int, total: int, *, step: str | None = None) -> None:
        self.step = self.step if step is None else step
        self.bar.draw(min(100, int(100 * done / total)) if total else 0, self.step)

    def log(self, message: str, *, level: str = "info") -> None:
        self.bar.end()
        self.log_stream.write(f"{level}: {message}\n")
        self.log_stream.flush()

    def check_cancelled(self, *, interval: float = 0.2) -> None:
        pass

    def end_bar(self) -> None:
        self.bar.end()


def job_run_inline(*, job: Job, bar_stream: Stream, log_stream: Stream) -> Job:
    """Run a job created with `dispatch=False` (by its kind's start service) here and now,
    waiting out the backoff of transient errors."""
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


def job_failure_message(job: Job, *, what: str) -> str:
    """A failed job's error for a command to raise: "<what> failed (code): message", then the
    first problems its details list (a file's rows, say)."""
    error = job.error or {}
    lines = [f"{what} failed ({error.get('code')}): {error.get('message')}"]
    problems = (error.get("details") or {}).get("errors") or []
    lines += [f"  {problem['message']}" for problem in problems[:SHOWN_PROBLEMS]]
    return "\n".join(lines)
