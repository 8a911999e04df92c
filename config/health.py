"""Liveness and readiness, outside the API."""

import logging
import uuid

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse

from config.celery import app as celery_app

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("value written was not read back")
    cache.delete(key)


def _check_storage() -> None:
    default_storage.exists("readyz-probe")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


# The cache is an accelerator: without it Kalkula still serves, degraded.
CHECKS = {
    "database": (_check_database, True),
    "cache": (_check_cache, False),
    "storage": (_check_storage, True),
    "broker": (_check_broker, True),
}


def _kind_of(exc: BaseException) -> str:
    """The kind of failure (and whether a connection was refused or timed out), never its text:
    that names hosts, buckets and keys (the log has it)."""
    kind = type(exc).__name__
    text = str(exc).lower()
    if "refused" in text:
        return f"{kind}: connection refused"
    if "timed out" in text or "timeout" in text:
        return f"{kind}: timed out"
    return kind


def readyz(request: HttpRequest) -> JsonResponse:
    components = {}
    ready, degraded = True, False
    for name, (check, required) in CHECKS.items():
        try:
            check()
            components[name] = {"status": "ok"}
        except Exception as exc:  # noqa: BLE001 - any failure of a dependency means "down"
            logger.warning("readiness check %s failed: %s", name, exc)
            components[name] = {"status": "down", "error": _kind_of(exc)}
            if required:
                ready = False
            else:
                degraded = True
    overall = "down" if not ready else "degraded" if degraded else "ok"
    return JsonResponse({"status": overall, "components": components}, status=200 if ready else 503)
