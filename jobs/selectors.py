"""Reads of jobs and their events; every one requires the tenant."""

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from jobs import live
from jobs.models import Job, JobEvent
from projects.models import Project
from tenants.models import Tenant

TOPIC_KINDS = ("job", "project", "tenant")


def job_list(
    *,
    tenant: Tenant,
    status: str | None = None,
    kind: str | None = None,
    project_id: uuid.UUID | None = None,
) -> QuerySet[Job]:
    jobs = Job.objects.for_tenant(tenant).select_related("created_by", "created_by_key")
    if status:
        jobs = jobs.filter(status=status)
    if kind:
        jobs = jobs.filter(kind=kind)
    if project_id:
        jobs = jobs.filter(project_id=project_id)
    return jobs


def job_get(*, tenant: Tenant, job_id: uuid.UUID | str) -> Job:
    """The tenant's job, or Http404 (another tenant's job does not exist for this one)."""
    job = job_list(tenant=tenant).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def job_event_list(*, tenant: Tenant, job: Job, since: int = 0) -> QuerySet[JobEvent]:
    """The job's stored events after `since`, in order."""
    return JobEvent.objects.for_tenant(tenant).filter(job=job, seq__gt=since).order_by("seq")


def job_events_pending(*, job: Job, after: int) -> list[dict[str, Any]]:
    """Events of the job after `after` that may not be stored yet (published, in the outbox), as
    `{seq, type, payload, created_at}`. Read it before the stored ones: an event that leaves the
    outbox meanwhile has been stored by then."""
    return live.outbox_read(job_id=job.id, after=after)


def job_events_replay(
    *, tenant: Tenant, job_id: uuid.UUID | str, since: int
) -> list[dict[str, Any]]:
    """Every event of the job after `since`, in order and without gaps, as `{seq, type, payload}`:
    the stored ones and those published but not stored yet (jobs/live.py). The outbox is read
    first: an event that leaves it meanwhile has been stored by then, so the database has it."""
    pending = live.outbox_read(job_id=job_id, after=since)
    stored = JobEvent.objects.for_tenant(tenant).filter(job_id=job_id, seq__gt=since)
    events = {entry["seq"]: entry for entry in pending}
    rows = stored.values("seq", "type", "payload")
    events.update({row["seq"]: row for row in rows})  # type: ignore[misc]  # rows are plain dicts
    return [events[seq] for seq in sorted(events)]


def parse_topic(topic: Any) -> tuple[str, uuid.UUID] | None:
    """("job", id) from "job:<id>", likewise project and tenant; None when malformed."""
    if not isinstance(topic, str):
        return None
    kind, _, raw_id = topic.partition(":")
    if kind not in TOPIC_KINDS:
        return None
    try:
        return kind, uuid.UUID(raw_id)
    except ValueError:
        return None


def topic_visible(*, tenant: Tenant, kind: str, object_id: uuid.UUID) -> bool:
    """Whether the tenant may follow the topic: its own tenant, project or job."""
    if kind == "tenant":
        return object_id == tenant.id
    model = Job if kind == "job" else Project
    return model.objects.for_tenant(tenant).filter(pk=object_id).exists()
