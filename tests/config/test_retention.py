"""Retention: `manage.py purge_expired` and the beat task delete what is past its period."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from config.celery import app as celery_app
from tenants.models import IdempotencyKey, RequestLog
from tenants.tasks import PURGE_EXPIRED_TASK, purge_expired_task
from tests.factories import IdempotencyKeyFactory, RequestLogFactory


@pytest.fixture
def kept(tenant, other_tenant):
    """Rows on both sides of each retention period, in two tenants; returns those to keep."""
    now = timezone.now()
    RequestLogFactory(tenant=tenant, created_at=now - timedelta(days=91))
    RequestLogFactory(tenant=other_tenant, created_at=now - timedelta(days=90, minutes=1))
    IdempotencyKeyFactory(tenant=tenant, created_at=now - timedelta(hours=25))
    return [
        RequestLogFactory(tenant=tenant, created_at=now - timedelta(days=89)),
        IdempotencyKeyFactory(tenant=tenant, created_at=now - timedelta(hours=23)),
    ]


def remaining_ids() -> set:
    return set(RequestLog.objects.values_list("id", flat=True)) | set(
        IdempotencyKey.objects.values_list("id", flat=True)
    )


@pytest.mark.django_db
class TestPurgeExpired:
    def test_the_command_deletes_what_expired_and_says_what_per_kind(self, kept):
        out = StringIO()
        call_command("purge_expired", stdout=out)
        assert out.getvalue().splitlines() == [
            "request log entries: 2 purged",
            "idempotency keys: 1 purged",
        ]
        assert remaining_ids() == {row.id for row in kept}

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
        assert result == {"request log entries": 2, "idempotency keys": 1}
        assert remaining_ids() == {row.id for row in kept}
