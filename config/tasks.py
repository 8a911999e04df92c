from celery import shared_task

from config.retention import purge_expired

PURGE_EXPIRED_TASK = "tenants.purge_expired"


@shared_task(name=PURGE_EXPIRED_TASK, time_limit=3600)
def purge_expired_task() -> dict[str, int]:
    """The beat schedule's retention run: the same purges as `manage.py purge_expired`."""
    return purge_expired()
