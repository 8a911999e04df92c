"""The request log: every API request of a tenant, stored without slowing the request down.

A request only appends a tuple to this process's buffer. A background thread writes the buffer
with one bulk insert every REQUEST_LOG_FLUSH_MS, or as soon as REQUEST_LOG_BATCH_SIZE entries wait,
and once more at shutdown. Server entry points (config/wsgi.py, config/asgi.py) start the thread;
elsewhere (tests, commands) `request_log_flush()` writes the buffer on demand.
"""

import atexit
import ipaddress
import logging
import os
import threading
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.db.models import Field
from django.utils import timezone

from core.db import delete_in_batches
from tenants.models import ApiKey, RequestLog, Tenant

logger = logging.getLogger(__name__)


class Entry(NamedTuple):
    """What a request leaves in the buffer: plain values, turned into rows by the flusher."""

    tenant_id: UUID
    api_key_id: UUID | None
    user_id: int | None
    created_at: datetime
    method: str
    path: str
    status_code: int
    duration_ns: int
    request_id: str
    ip: str
    user_agent: str


# The row's columns, in the order `_values` gives them.
_FIELDS = (
    "id",
    "tenant",
    "api_key",
    "user",
    "created_at",
    "method",
    "path",
    "status_code",
    "duration_ms",
    "request_id",
    "ip",
    "user_agent",
)


def _values(entry: Entry) -> tuple:
    try:
        ip = str(ipaddress.ip_address(entry.ip))
    except ValueError:  # a unix socket or a proxy that sets no address
        ip = None
    return (
        uuid.uuid4(),
        entry.tenant_id,
        entry.api_key_id,
        entry.user_id,
        entry.created_at,
        entry.method[:10],
        entry.path[:2000],
        entry.status_code,
        Decimal(entry.duration_ns // 1000) / 1000,
        entry.request_id[:128],
        ip,
        entry.user_agent[:300],
    )


def _insert(rows: list[tuple]) -> None:
    """On PostgreSQL one COPY, elsewhere one executemany: the serving process pays for it (a
    fifth of bulk_create's cost per row with executemany, half of that again with COPY, and a
    third of the server's work; bench/api.py)."""
    connection = connections[RequestLog.objects.db]
    # Concrete fields by name: get_field() is typed for reverse relations too.
    fields = [cast("Field[Any, Any]", RequestLog._meta.get_field(name)) for name in _FIELDS]
    quote = connection.ops.quote_name
    table = quote(RequestLog._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)  # type: ignore[arg-type]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        params = [
            [
                field.get_db_prep_save(value, connection)
                for field, value in zip(fields, row, strict=True)
            ]
            for row in rows
        ]
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - model names
        cursor.executemany(sql, params)


class _Buffer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[Entry] = []
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.dropped = 0

    def append(self, entry: Entry) -> None:
        with self.lock:
            self.entries.append(entry)
            waiting = len(self.entries)
            if waiting > settings.REQUEST_LOG_MAX_BUFFER:
                del self.entries[0]
                self.dropped += 1
        if waiting >= settings.REQUEST_LOG_BATCH_SIZE:
            self.wake.set()

    def take(self) -> list[Entry]:
        with self.lock:
            entries, self.entries = self.entries, []
            dropped, self.dropped = self.dropped, 0
        if dropped:
            logger.warning("request log: dropped %d entries the database could not take", dropped)
        return entries

    def put_back(self, entries: list[Entry]) -> None:
        """Return entries a failed write could not store, oldest first, within the bound."""
        with self.lock:
            merged = entries + self.entries
            overflow = max(0, len(merged) - settings.REQUEST_LOG_MAX_BUFFER)
            self.entries = merged[overflow:]
            self.dropped += overflow

    def run(self) -> None:
        while True:
            self.wake.wait(timeout=settings.REQUEST_LOG_FLUSH_MS / 1000)
            self.wake.clear()
            # As around a request: drop a connection a database restart broke, then reconnect.
            close_old_connections()
            try:
                request_log_flush()
            except Exception:  # the writer must outlive any one bad batch
                logger.exception("request log: flush failed")
            close_old_connections()


_buffer = _Buffer()


def request_log_record(entry: Entry) -> None:
    """Queue one request for the log; never touches the database."""
    _buffer.append(entry)


def request_log_flush() -> int:
    """Write every waiting entry now, in bulk; returns how many rows were written. On a database
    error the entries go back to the buffer for the next flush."""
    entries = _buffer.take()
    if not entries:
        return 0
    try:
        rows = _rows_that_still_fit(entries)
        if rows:
            _insert(rows)
        return len(rows)
    except DatabaseError as exc:
        _buffer.put_back(entries)
        logger.warning("request log: could not write %d entries, will retry: %s", len(entries), exc)
        return 0


def _rows_that_still_fit(entries: list[Entry]) -> list[tuple]:
    """Rows for the entries, minus those whose tenant was deleted since its request, and without
    a key or user deleted since: a few indexed lookups per batch, not per row."""
    tenants = set(
        Tenant.objects.filter(pk__in={e.tenant_id for e in entries}).values_list("pk", flat=True)
    )
    key_ids = {e.api_key_id for e in entries if e.api_key_id is not None}
    keys = (
        set(ApiKey.objects.filter(pk__in=key_ids).values_list("pk", flat=True))
        if key_ids
        else set()
    )
    user_ids = {e.user_id for e in entries if e.user_id is not None}
    users = (
        set(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", flat=True))
        if user_ids
        else set()
    )
    dropped = sum(1 for e in entries if e.tenant_id not in tenants)
    if dropped:
        logger.info("request log: dropped %d entries of deleted tenants", dropped)
    return [
        _values(
            entry._replace(
                api_key_id=entry.api_key_id if entry.api_key_id in keys else None,
                user_id=entry.user_id if entry.user_id in users else None,
            )
        )
        for entry in entries
        if entry.tenant_id in tenants
    ]


def request_log_discard() -> None:
    """Forget waiting entries without writing them (tests start and end with an empty buffer)."""
    _buffer.take()


def request_log_start_flusher() -> None:
    """Start this process's background writer, once; it writes what is left at exit too."""
    if _buffer.thread is not None and _buffer.thread.is_alive():
        return
    _buffer.thread = threading.Thread(target=_buffer.run, name="request-log-flusher", daemon=True)
    _buffer.thread.start()


def _after_fork_in_child() -> None:
    # A forked worker (gunicorn --preload) starts with a copy of the parent's buffer and no
    # thread: it keeps none of the parent's entries and runs its own writer.
    global _buffer
    had_thread = _buffer.thread is not None
    _buffer = _Buffer()
    if had_thread:
        request_log_start_flusher()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(request_log_flush)


def request_log_purge_expired(*, now: datetime | None = None) -> int:
    """Delete entries older than REQUEST_LOG_RETENTION; returns how many."""
    cutoff = (now or timezone.now()) - settings.REQUEST_LOG_RETENTION
    return delete_in_batches(RequestLog.objects.filter(created_at__lt=cutoff))
