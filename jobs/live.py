"""What running jobs share through the cache (Redis in production, process memory when embedded).

- The outbox: a job's events are published live *before* they are stored in the database (at once,
  or right after the handler's transaction), so each is first kept here until it is stored. A client
  that (re)subscribes is replayed from here and from `JobEvent`, so it misses nothing, and an
  attempt that follows one whose worker died stores what that one published but never stored, so a
  seq once published is never reused.
- Heartbeats: a running job's worker thread proves here (and in the database) that it is alive.
- Cancel requests: seen at once even by a handler inside a long transaction, whose database snapshot
  (SQLite) would not show them.

Everything here is best effort: when the cache fails, callers fall back to the database alone.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

JobId = uuid.UUID | str


def _ttl() -> int:
    # Longer than any run may last: an entry must outlive the transaction that holds it back.
    return settings.JOBS_TIME_LIMIT_SECONDS + 3600


def _outbox_key(job_id: JobId, seq: int) -> str:
    return f"jobs:outbox:{job_id}:{seq}"


def _outbox_top_key(job_id: JobId) -> str:
    """The highest seq ever put in the job's outbox."""
    return f"jobs:outbox:{job_id}:top"


def _outbox_floor_key(job_id: JobId) -> str:
    """Every seq up to this one is stored in the database."""
    return f"jobs:outbox:{job_id}:floor"


def outbox_put(*, job_id: JobId, entries: list[dict[str, Any]]) -> bool:
    """Keep `entries` (dicts with `seq`, `type`, `payload`, `created_at`, in seq order) until they
    are stored. False when the cache is unavailable."""
    values: dict[str, Any] = {_outbox_key(job_id, e["seq"]): e for e in entries}
    values[_outbox_top_key(job_id)] = entries[-1]["seq"]
    try:
        cache.set_many(values, timeout=_ttl())
    except Exception:  # the cache is an accelerator; see the module docstring
        logger.warning("job %s: cannot keep events in the outbox", job_id, exc_info=True)
        return False
    return True


@dataclass(frozen=True)
class OutboxMarks:
    """The highest seq ever put in a job's outbox, and the one up to which all are stored."""

    top: int
    floor: int


def run_start_read(*, job_id: JobId) -> tuple[bool, OutboxMarks | None]:
    """What a run reads from the cache as it starts, in one round trip: whether cancellation was
    asked for, and the outbox's marks (for `outbox_read`); (False, None) when the cache fails."""
    keys = [_cancel_key(job_id), _outbox_top_key(job_id), _outbox_floor_key(job_id)]
    try:
        found = cache.get_many(keys)
    except Exception:  # the database flag is checked too; outbox_read tries again
        logger.warning("job %s: cannot read the cache", job_id, exc_info=True)
        return False, None
    marks = OutboxMarks(top=found.get(keys[1]) or 0, floor=found.get(keys[2]) or 0)
    return bool(found.get(keys[0])), marks


def outbox_read(
    *, job_id: JobId, after: int, marks: OutboxMarks | None = None
) -> list[dict[str, Any]]:
    """Entries with seq > `after` that may not be stored yet, in seq order. `marks`: as read
    (by `run_start_read`) since the last entry was put, saving their round trip."""
    try:
        if marks is None:
            found = cache.get_many([_outbox_top_key(job_id), _outbox_floor_key(job_id)])
            marks = OutboxMarks(
                top=found.get(_outbox_top_key(job_id)) or 0,
                floor=found.get(_outbox_floor_key(job_id)) or 0,
            )
        top = marks.top
        first = max(after, marks.floor) + 1
        if top < first:
            return []
        keys = [_outbox_key(job_id, seq) for seq in range(first, top + 1)]
        found = cache.get_many(keys)
    except Exception:  # see the module docstring
        logger.warning("job %s: cannot read the outbox", job_id, exc_info=True)
        return []
    return [found[key] for key in keys if key in found]


def outbox_clear(*, job_id: JobId, seqs: list[int]) -> None:
    """Forget entries now stored in the database (the floor first, so readers skip them)."""
    try:
        cache.set(_outbox_floor_key(job_id), max(seqs), timeout=_ttl())
        cache.delete_many([_outbox_key(job_id, seq) for seq in seqs])
    except Exception:  # stale entries are harmless: readers prefer stored events
        logger.warning("job %s: cannot clear the outbox", job_id, exc_info=True)


@dataclass(frozen=True)
class Beat:
    attempt: int
    at: float  # seconds since the epoch


def _heartbeat_key(job_id: JobId) -> str:
    return f"jobs:heartbeat:{job_id}"


def heartbeat_set(*, job_id: JobId, attempt: int) -> None:
    try:
        cache.set(
            _heartbeat_key(job_id),
            {"attempt": attempt, "at": time.time()},
            timeout=settings.JOBS_STALE_AFTER_SECONDS * 10,
        )
    except Exception:  # the database heartbeat still counts
        logger.warning("job %s: cannot write the heartbeat to the cache", job_id, exc_info=True)


def heartbeats_get(*, job_ids: list[JobId]) -> dict[str, Beat]:
    """Latest heartbeats by job id (as str); empty when the cache is unavailable."""
    keys = {_heartbeat_key(job_id): str(job_id) for job_id in job_ids}
    try:
        found = cache.get_many(list(keys))
    except Exception:  # the sweep then judges by the database heartbeat alone
        logger.warning("cannot read heartbeats from the cache", exc_info=True)
        return {}
    return {
        keys[key]: Beat(attempt=value["attempt"], at=value["at"]) for key, value in found.items()
    }


def _cancel_key(job_id: JobId) -> str:
    return f"jobs:cancel:{job_id}"


def cancel_flag_set(*, job_id: JobId) -> None:
    try:
        cache.set(_cancel_key(job_id), True, timeout=_ttl())
    except Exception:  # the database flag is still written
        logger.warning("job %s: cannot write the cancel flag to the cache", job_id, exc_info=True)


def cancel_flag_clear(*, job_id: JobId) -> None:
    try:
        cache.delete(_cancel_key(job_id))
    except Exception:  # a stale flag would cancel a retried job: say so loudly
        logger.error("job %s: cannot clear the cancel flag in the cache", job_id, exc_info=True)


def cancel_flag_get(*, job_id: JobId) -> bool:
    try:
        return bool(cache.get(_cancel_key(job_id)))
    except Exception:  # the database flag is checked too
        logger.warning("job %s: cannot read the cancel flag from the cache", job_id, exc_info=True)
        return False
