"""What a running handler reports: percent and step, log lines, and whether it should stop."""

import time
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from jobs.errors import JobCancelled
from jobs.events import Event, publish, topic_for
from jobs.models import Job, JobEvent


class Progress:
    """Numbers every event of a job 1, 2, … and publishes it live to the job's, project's and
    tenant's topics. Stored events are written at once, except while the handler holds a database
    transaction open: then they are kept and written right after it (`flush()`), so that a rollback
    never takes them along and a reconnecting client can still replay them in order. Database writes
    of percent and step are throttled to one per `save_interval` seconds."""

    def __init__(self, job: Job, *, save_interval: float = 0.5) -> None:
        self.job = job
        self.save_interval = save_interval
        self._seq = job.last_seq
        self._pending: list[JobEvent] = []
        self._last_save = 0.0
        self._last_cancel_check = 0.0
        self._percent = job.progress
        self._step = job.step

    @property
    def topics(self) -> list[str]:
        topics = [topic_for("job", self.job.id), topic_for("tenant", self.job.tenant_id)]
        if self.job.project_id:
            topics.insert(1, topic_for("project", self.job.project_id))
        return topics

    def update(self, done: int, total: int, *, step: str | None = None) -> None:
        percent = min(100, int(100 * done / total)) if total else 0
        step = self._step if step is None else step[:200]
        if percent == self._percent and step == self._step:
            return
        now = time.monotonic()
        if step == self._step and now - self._last_save < self.save_interval and percent < 100:
            return  # coalesce: a few events per second per job are plenty for a progress bar
        self._percent, self._step, self._last_save = percent, step, now
        self.emit("job.progress", {"progress": percent, "step": step, "done": done, "total": total})
        self._save_state(progress=percent, step=step)

    def log(self, message: str, *, level: str = "info") -> None:
        self.emit("job.log", {"level": level, "message": message})

    def check_cancelled(self, *, interval: float = 0.2) -> None:
        """Raise JobCancelled if cancellation was asked for; call it between chunks of work."""
        now = time.monotonic()
        if now - self._last_cancel_check < interval:
            return
        self._last_cancel_check = now
        if Job.objects.filter(pk=self.job.pk, cancel_requested_at__isnull=False).exists():
            raise JobCancelled

    def emit(self, event_type: str, data: dict[str, Any]) -> JobEvent:
        self._seq += 1
        event = JobEvent(
            tenant_id=self.job.tenant_id,
            job=self.job,
            seq=self._seq,
            type=event_type,
            payload=data,
            created_at=timezone.now(),
        )
        self._pending.append(event)
        if not connection.in_atomic_block:
            self.flush()
        publish(
            Event(
                type=event_type,
                tenant_id=self.job.tenant_id,
                data={"job": str(self.job.id), **data},
                topics=self.topics,
                seq=event.seq,
            )
        )
        return event

    def flush(self) -> None:
        """Store the events kept while a transaction was open."""
        if not self._pending:
            return
        with transaction.atomic():
            JobEvent.objects.bulk_create(self._pending)
            Job.objects.filter(pk=self.job.pk).update(last_seq=self._seq)
        self.job.last_seq = self._seq
        self._pending = []

    def _save_state(self, **fields: Any) -> None:
        fields["heartbeat_at"] = timezone.now()
        if connection.in_atomic_block:
            return  # the runner saves percent and step when the handler is done
        Job.objects.filter(pk=self.job.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.job, name, value)
