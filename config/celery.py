"""The Celery app: JSON only, three queues. Settings, the beat schedule included: CELERY_* in
settings.py (read lazily, so importing this module never needs the settings loaded)."""

import os

from celery import Celery, Task, signals
from django.db import close_old_connections
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kalkula")
app.config_from_object("django.conf:settings", namespace="CELERY")

# A job's kind names its queue (jobs.registry); `job_dispatch` sends it there. Workers take all
# three (`-Q high,default,low`), or dedicated workers take `high` alone for strict priority.
QUEUES = ("high", "default", "low")
# Each queue bound by its own name (Celery publishes a job to its queue by that name).
app.conf.task_queues = [Queue(name, routing_key=name) for name in QUEUES]
app.conf.task_routes = {
    "jobs.tasks.sweep_jobs": {"queue": "high"},
    "tenants.purge_expired": {"queue": "low"},
}
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_unusable_database_connections(sender: Task, **kwargs) -> None:
    """Around each task, what Django does around each request: drop a connection that is past
    CONN_MAX_AGE, errored or left in a transaction, and have the next query check the others
    first (CONN_HEALTH_CHECKS); the rest are kept (settings.CELERY_DB_REUSE_MAX). Not for eager
    tasks: they run inside their caller's transaction."""
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()
