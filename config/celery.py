"""The Celery app: JSON only, three queues, the beat schedule. Settings: CELERY_* in settings.py."""

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings

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
app.conf.beat_schedule = {
    "sweep-jobs": {
        "task": "jobs.tasks.sweep_jobs",
        "schedule": float(settings.JOBS_SWEEP_INTERVAL_SECONDS),
        # A sweep that waited longer than an interval is superseded by the next one.
        "options": {"expires": float(settings.JOBS_SWEEP_INTERVAL_SECONDS)},
    },
    # Retention (config/retention.py): hourly, so nothing outlives its period by much.
    "purge-expired": {"task": "tenants.purge_expired", "schedule": crontab(minute=17)},
}
app.autodiscover_tasks()
