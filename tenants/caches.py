"""The per-process caches of what every API request reads, and how they stay true.

`active_api_keys` maps a key's prefix to the active ApiKey with its tenant (filled by
authentication); `tenant_usage_counts` maps a tenant id to this month's counters and its largest
project (filled by `tenant_usage`). An entry lives API_CACHE_SECONDS at most, and a change reaches
every server process before its next request:

- the write that changes an entry calls `forget_*`, which drops the entry in this process at once
  and, on PostgreSQL, sends a NOTIFY in the write's transaction (delivered when it commits);
- before a request reads a cache, `caches_usable()` takes in what the database has told this
  thread's connection, without a round trip: on PostgreSQL the notifications waiting on its
  socket (the connection LISTENs from its first use here), on SQLite `PRAGMA data_version`, which
  moves whenever another connection commits (then every entry is dropped).

When the connection cannot tell (none yet, broken, or on PostgreSQL inside a transaction), the
request reads the database instead. Writes that bypass `forget_*` (a queryset `update()`, SQL by
hand) are seen when the entry expires.
"""

import select
import sqlite3
import threading
import uuid
from collections.abc import Callable

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from psycopg import pq

from core.process_cache import ProcessCache

CHANNEL = "kalkula_forget"

active_api_keys = ProcessCache()
tenant_usage_counts = ProcessCache()


def forget_api_key(*, prefix: str) -> None:
    _forget_here(lambda: active_api_keys.pop(prefix))
    _notify(f"key:{prefix}")


def forget_api_keys() -> None:
    """Every key: each cached key carries its tenant, and tenants change rarely."""
    _forget_here(active_api_keys.clear)
    _notify("keys")


def forget_tenant_usage(*, tenant_id: uuid.UUID, notified: bool = False) -> None:
    """`notified`: the write sent the notification itself (`usage_notification`)."""
    _forget_here(lambda: tenant_usage_counts.pop(tenant_id))
    if not notified:
        _notify(f"usage:{tenant_id}")


def usage_notification(*, tenant_id: uuid.UUID) -> tuple[str, list] | None:
    """On PostgreSQL, `forget_tenant_usage`'s notification as an SQL expression with its
    parameters, for a write to send in its own statement (one round trip instead of two; then
    `forget_tenant_usage(..., notified=True)`); None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    return "pg_notify(%s, %s)", [CHANNEL, f"usage:{tenant_id}"]


def _forget_here(drop: Callable[[], None]) -> None:
    """Drop in this process now, and again when the write commits: another thread may have cached
    the old row in between, and on SQLite nothing else would drop it for this thread (its own
    commit does not move its connection's data_version)."""
    drop()
    transaction.on_commit(drop)


def caches_usable() -> bool:
    """Whether this request may answer from the caches, having first dropped whatever the
    database says has changed."""
    wrapper = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy costs
    raw = wrapper.connection
    if raw is None:
        return False
    try:
        if wrapper.vendor == "postgresql":
            return _postgres_caught_up(raw)
        if wrapper.vendor == "sqlite":
            return _sqlite_caught_up(raw)
    except (psycopg.Error, sqlite3.Error, OSError):
        _forget_everything()
    return False


def _notify(message: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, message])


# The connection each thread last vouched with, and on PostgreSQL the poller of its socket, on
# SQLite the data_version it saw.
_seen = threading.local()


def _postgres_caught_up(raw: psycopg.Connection) -> bool:
    if raw.info.transaction_status != pq.TransactionStatus.IDLE:
        # Inside a transaction notifications wait for its end, and a LISTEN for its commit.
        return False
    if getattr(_seen, "connection", None) is not raw:
        raw.add_notify_handler(_on_notify)
        raw.execute(f"LISTEN {CHANNEL}")
        _seen.connection = raw
        _seen.poller = select.poll()
        _seen.poller.register(raw.fileno(), select.POLLIN)
        # What was cached before this connection listened may have missed a notification.
        _forget_everything()
        return True
    if _seen.poller.poll(0):
        # Notifications (or the end of the connection) are waiting: a statement takes them in
        # and psycopg hands them to _on_notify; a broken connection raises.
        raw.execute("SELECT 1")
    return True


def _sqlite_caught_up(raw: sqlite3.Connection) -> bool:
    version = raw.execute("PRAGMA data_version").fetchone()[0]
    if getattr(_seen, "connection", None) is not raw or _seen.version != version:
        _forget_everything()
        _seen.connection, _seen.version = raw, version
    return True


def _on_notify(notify: psycopg.Notify) -> None:
    if notify.channel != CHANNEL:
        return
    kind, _, value = notify.payload.partition(":")
    if kind == "key":
        active_api_keys.pop(value)
    elif kind == "usage":
        tenant_usage_counts.pop(uuid.UUID(value))
    else:
        active_api_keys.clear()


def _forget_everything() -> None:
    active_api_keys.clear()
    tenant_usage_counts.clear()
