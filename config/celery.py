import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kalkula")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Retention (config/retention.py): hourly, so nothing outlives its period by much.
    "purge-expired": {"task": "tenants.purge_expired", "schedule": crontab(minute=17)},
}
