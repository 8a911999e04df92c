"""What a running handler reports: percent and step, log lines, and whether it should stop."""

import time
from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from jobs import live
from jobs.errors import JobCancelled, JobLost
from jobs.events import Event, publish, topic_for
from jobs.models import Job, JobEvent

LOST_EVENT = {"level": "warning", "message": "An event of an interrupted attempt was lost."}


def job_event_data(job_id: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a job event on the wire, live or replayed."""
    return {"job": str(job_id), **payload}


class Progress:
    """Numbers every event of a job 1, 2, … and publishes it live to the job's, project's and
    tenant's topics.

    Each event is kept in the cache outbox (jobs/live.py), published, then stored: with the
    events of up to `save_interval` seconds together, or, while the handler holds a database
    transaction, right after it (so a rollback never takes the events along), and always before
    the job's final event. Replay reads the outbox and the database, so a client misses nothing
    either way. Without a cache, events are stored before they are published, and those emitted
    inside a transaction wait for it to end. Progress events that only move the percent, and
    database writes of percent and step, are throttled to one per `save_interval` seconds (the
    heartbeat thread saves them too, also during a long transaction).

    Writes are fenced: they apply only while this run still owns the job (same status and attempt
    number); a run whose job was taken back gets JobLost at its next event or check."""

    def __init__(self, job: Job, *, save_interval: float = 0.5) -> None:
        self.job = job
        self.save_interval = save_interval
        self._owner = {"status": job.status, "attempts": job.attempts}
        self._seq = job.last_seq
        self._recovered = False
        self._outbox_marks: live.OutboxMarks | None = None
        self._pending: list[JobEvent] = []  # not stored yet
        self._held: list[JobEvent] = []  # not published yet: waiting to be stored (no cache)
        # Short jobs write their progress and events once, when they finish.
        self._last_event = 0.0  # the last progress event
        self._last_save = time.monotonic()  # the last database write of percent and step
        self._last_store = time.monotonic()  # the last database write of events
        self._last_cancel_check = 0.0
        self.percent = job.progress
        self.step = job.step

    @property
    def topics(self) -> list[str]:
        topics = [topic_for("job", self.job.id), topic_for("tenant", self.job.tenant_id)]
        if self.job.project_id:
            topics.insert(1, topic_for("project", self.job.project_id))
        return topics

    def update(self, done: int, total: int, *, step: str | None = None) -> None:
        percent = min(100, int(100 * done / total)) if total else 0
        step = self.step if step is None else step[:200]
        if percent == self.percent and step == self.step:
            self._store_if_due()
            return
        now = time.monotonic()
        if step == self.step and now - self._last_event < self.save_interval and percent < 100:
            self._store_if_due()
            return  # coalesce: a few events per second per job are plenty for a progress bar
        self._last_event = now
        self.percent, self.step = percent, step
        self.emit("job.progress", {"progress": percent, "step": step, "done": done, "total": total})
        if now - self._last_save >= self.save_interval:
            self._last_save = now
            self._save_state(progress=percent, step=step)

    def log(self, message: str, *, level: str = "info") -> None:
        self.emit("job.log", {"level": level, "message": message})

    def run_started(
        self, *, outbox_marks: live.OutboxMarks | None = None, first_attempt: bool = False
    ) -> None:
        """The runner has just claimed the job, which says who owns it and whether cancellation
        was asked for: a `check_cancelled` within its interval from now need not ask again. For
        a later attempt it has read the outbox marks (`live.run_start_read`), so the first event
        need not read them again; a first attempt has nothing to recover (job_execute)."""
        self._outbox_marks = outbox_marks
        self._recovered = self._recovered or first_attempt
        self._last_cancel_check = time.monotonic()

    def check_cancelled(self, *, interval: float = 0.2) -> None:
        """Raise JobCancelled if cancellation was asked for; call it between chunks of work."""
        self._store_if_due()
        now = time.monotonic()
        if now - self._last_cancel_check < interval:
            return
        self._last_cancel_check = now
        if live.cancel_flag_get(job_id=self.job.id):
            raise JobCancelled
        state: Mapping[str, Any] | None = (
            Job.objects.filter(pk=self.job.pk)
            .values("status", "attempts", "cancel_requested_at")
            .first()
        )
        if state is None or any(state[name] != value for name, value in self._owner.items()):
            raise JobLost
        if state["cancel_requested_at"] is not None:
            raise JobCancelled

    def emit(self, event_type: str, data: dict[str, Any], *, store_first: bool = False) -> JobEvent:
        """Number, keep, publish and store one event. `store_first`: store it now, in the current
        transaction if any, and publish it once that commits (a job's final event, stored with its
        final status, so that whoever hears of it finds the job finished)."""
        if not self._recovered:
            self._recover()
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
        if store_first:
            self.flush()
            transaction.on_commit(lambda: self._publish(event))
        elif live.outbox_put(job_id=self.job.id, entries=[_outbox_entry(event)]):
            self._publish(event)  # replay finds it in the outbox until it is stored
            self._store_soon()
        else:
            self._held.append(event)  # replay finds it only once stored: publish it then
            self._store_soon()
        return event

    def _store_soon(self) -> None:
        """Store pending events right after the handler's transaction if one is open; else now
        if some wait to be published or none were stored for `save_interval` seconds (the rest
        are replayable from the outbox meanwhile, and stored together at the next due call)."""
        if connection.in_atomic_block:
            transaction.on_commit(self.flush)
        elif self._held or time.monotonic() - self._last_store >= self.save_interval:
            self.flush()

    def _store_if_due(self) -> None:
        if self._pending and not connection.in_atomic_block:
            if time.monotonic() - self._last_store >= self.save_interval:
                self.flush()

    def flush(self) -> None:
        """Store the events not stored yet (kept while a transaction was open), then publish any
        that had to wait for that."""
        if self._pending:
            # No savepoint inside a caller's transaction: if this fails, so does all of it.
            with transaction.atomic(savepoint=False):
                owned = (
                    Job.objects.filter(pk=self.job.pk, **self._owner)
                    .exclude(last_seq__gte=self._pending[0].seq)
                    .update(last_seq=self._seq)
                )
                if not owned:
                    raise JobLost
                JobEvent.objects.bulk_create(self._pending)
            seqs, self._pending = [event.seq for event in self._pending], []
            self.job.last_seq = self._seq
            self._last_store = time.monotonic()
            # Only once they are surely stored: an enclosing transaction may still roll back.
            transaction.on_commit(lambda: live.outbox_clear(job_id=self.job.id, seqs=seqs))
        held, self._held = self._held, []
        for event in held:
            self._publish(event)

    def owner_changed(self, *, status: str) -> None:
        """The runner moved the job to `status` (finished it, say): keep writing as its owner."""
        self._owner["status"] = status
        self.job.status = status

    def _recover(self) -> None:
        """Store what an interrupted attempt published but never stored (it is in the outbox), so
        that a seq once published is never reused; a hole (the cache lost an entry) is stored as a
        warning, so seqs stay gapless."""
        self._recovered = True
        marks, self._outbox_marks = self._outbox_marks, None
        entries = live.outbox_read(job_id=self.job.id, after=self._seq, marks=marks)
        if not entries:
            return
        by_seq = {entry["seq"]: entry for entry in entries}
        for seq in range(self._seq + 1, entries[-1]["seq"] + 1):
            entry = by_seq.get(seq, {"type": "job.log", "payload": LOST_EVENT})
            self._pending.append(
                JobEvent(
                    tenant_id=self.job.tenant_id,
                    job=self.job,
                    seq=seq,
                    type=entry["type"],
                    payload=entry["payload"],
                )
            )
        self._seq = entries[-1]["seq"]
        self.flush()

    def _publish(self, event: JobEvent) -> None:
        publish(
            Event(
                type=event.type,
                tenant_id=self.job.tenant_id,
                data=job_event_data(self.job.id, event.payload),
                topics=self.topics,
                seq=event.seq,
            )
        )

    def _save_state(self, **fields: Any) -> None:
        if connection.in_atomic_block:
            return  # the heartbeat thread saves them meanwhile, the runner when the handler ends
        fields["heartbeat_at"] = timezone.now()
        Job.objects.filter(pk=self.job.pk, **self._owner).update(**fields)
        for name, value in fields.items():
            setattr(self.job, name, value)


def _outbox_entry(event: JobEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "type": event.type,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }


class NoProgress:
    """Progress reporting to nowhere, for services called outside a job
    (a benchmark, a shell, a test)."""

    def update(self, done: int, total: int, *, step: str | None = None) -> None:
        pass

    def log(self, message: str, *, level: str = "info") -> None:
        pass

    def check_cancelled(self, *, interval: float = 0.2) -> None:
        pass
