"""Retention: `manage.py purge_expired` and the beat task delete what is past its period."""

import os
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from config.celery import app as celery_app
from config.tasks import PURGE_EXPIRED_TASK, purge_expired_task
from evidence.storage import SPOOL_PREFIX
from jobs.models import JobEvent
from tenants.models import IdempotencyKey, RequestLog
from tests.factories import (
    IdempotencyKeyFactory,
    JobEventFactory,
    JobFactory,
    RequestLogFactory,
)


def spool_file(name: str, age: timedelta) -> Path:
    """A file an upload left in the spool directory `age` ago."""
    path = settings.EVIDENCE_SPOOL_DIR / f"{SPOOL_PREFIX}{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half an upload")
    then = (timezone.now() - age).timestamp()
    os.utime(path, (then, then))
    return path


@pytest.fixture
def kept(tenant, other_tenant, empty_storage):
    """Rows and files on both sides of each retention period, in two tenants; returns the rows
    to keep (the fresh spool file stays too)."""
    now = timezone.now()
    spooled = [
        spool_file("abandoned", timedelta(hours=25)),
        spool_file("in-flight", timedelta(hours=23)),
    ]
    RequestLogFactory(tenant=tenant, created_at=now - timedelta(days=91))
    RequestLogFactory(tenant=other_tenant, created_at=now - timedelta(days=90, minutes=1))
    IdempotencyKeyFactory(tenant=tenant, created_at=now - timedelta(hours=25))
    ended_long_ago = JobFactory(
        tenant=tenant, status="succeeded", finished_at=now - timedelta(days=8)
    )
    JobEventFactory.create_batch(2, tenant=tenant, job=ended_long_ago)
    ended_lately = JobFactory(tenant=tenant, status="failed", finished_at=now - timedelta(days=6))
    still_running = JobFactory(tenant=other_tenant, status="running")
    yield [
        RequestLogFactory(tenant=tenant, created_at=now - timedelta(days=89)),
        IdempotencyKeyFactory(tenant=tenant, created_at=now - timedelta(hours=23)),
        JobEventFactory(tenant=tenant, job=ended_lately),
        JobEventFactory(tenant=other_tenant, job=still_running),
    ]
    for path in spooled:  # the spool directory is shared by the whole run
        path.unlink(missing_ok=True)


def remaining_ids() -> set:
    return (
        set(RequestLog.objects.values_list("id", flat=True))
        | set(IdempotencyKey.objects.values_list("id", flat=True))
        | set(JobEvent.objects.values_list("id", flat=True))
    )


@pytest.mark.django_db
class TestPurgeExpired:
    def test_the_command_deletes_what_expired_and_says_what_per_kind(self, kept):
        out = StringIO()
        call_command("purge_expired", stdout=out)
        assert out.getvalue().splitlines() == [
            "request log entries: 2 purged",
            "idempotency keys: 1 purged",
            "job events: 2 purged",
            "abandoned uploads: 1 purged",
        ]
        assert remaining_ids() == {row.id for row in kept}
        spooled = {p.name for p in settings.EVIDENCE_SPOOL_DIR.glob(f"{SPOOL_PREFIX}*")}
        assert spooled == {f"{SPOOL_PREFIX}in-flight"}

        out = StringIO()
        call_command("purge_expired", stdout=out)
        assert "request log entries: 0 purged" in out.getvalue()

    def test_periods_come_from_the_settings(self, kept, settings):
        settings.REQUEST_LOG_RETENTION = timedelta(days=200)
        out = StringIO()
        call_command("purge_expired", stdout=out)
        assert "request log entries: 0 purged" in out.getvalue()

    def test_the_beat_schedule_runs_the_same_purges(self, kept):
        entry = celery_app.conf.beat_schedule["purge-expired"]
        assert entry["task"] == PURGE_EXPIRED_TASK
        celery_app.loader.import_default_modules()
        assert PURGE_EXPIRED_TASK in celery_app.tasks
        result = purge_expired_task.apply().get()
        assert result == {
            "request log entries": 2,
            "idempotency keys": 1,
            "job events": 2,
            "abandoned uploads": 1,
        }
        assert remaining_ids() == {row.id for row in kept}
