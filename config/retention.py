"""Retention: what `manage.py purge_expired` and the beat task delete, in order.

Each entry is (kind, purge service); a service deletes what is past its retention period and
returns how many rows went.
"""

from collections.abc import Callable

from django.conf import settings

from evidence.services import evidence_purge_abandoned_uploads
from jobs.services import job_event_purge_expired
from tenants.idempotency import idempotency_key_purge_expired
from tenants.request_log import request_log_purge_expired

PURGES: list[tuple[str, Callable[[], int]]] = [
    ("request log entries", request_log_purge_expired),
    ("idempotency keys", idempotency_key_purge_expired),
    ("job events", job_event_purge_expired),
    (
        "abandoned uploads",
        lambda: evidence_purge_abandoned_uploads(older_than=settings.ABANDONED_UPLOAD_RETENTION),
    ),
]


def purge_expired() -> dict[str, int]:
    """Run every purge; returns {kind: rows deleted}."""
    return {kind: purge() for kind, purge in PURGES}
