"""Rate limits: a token bucket per API key (or user) and bucket, with rates set by the plan.

With REDIS_URL the buckets live in Redis and one Lua script reads, refills and takes tokens
atomically on Redis's clock, so every server process shares them. A process that keeps using a
bucket takes its tokens a few at a time (a lease: 1, then twice as many each time it runs out
within LEASE_SECONDS, at most a hundredth of the bucket) and gives back what it did not use when
the lease lapses, so a busy key costs a round trip per lease, not per request, and no process can
hold more than its lease of anyone's bucket. Without REDIS_URL (the embedded default, one process)
the same arithmetic runs in process memory. If Redis fails, requests are let through and a warning
is logged: an outage of the limiter must not become an outage of the API.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.errors import ApiError
from tenants.models import ApiKey, Plan

if TYPE_CHECKING:  # rest_framework.views imports this module through DEFAULT_THROTTLE_CLASSES
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

READS = "reads"
WRITES = "writes"
# Set `write_bucket = JOBS` on a view whose POST starts a job.
JOBS = "jobs"
BUCKETS = (READS, WRITES, JOBS)


@dataclass(frozen=True)
class Decision:
    """The bucket after one request: whether it was allowed, and the RateLimit-* header values."""

    allowed: bool
    limit: int
    window: int
    remaining: int
    retry_after: int  # whole seconds until a token is free (0 when allowed)
    reset: int  # whole seconds until the bucket is full again


class RateLimited(ApiError):
    def __init__(self, decision: Decision) -> None:
        super().__init__(
            code="rate_limited",
            message=f"Too many requests; retry in {decision.retry_after} s.",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            details={"limit": decision.limit, "window_seconds": decision.window},
        )
        # DRF's exception handler turns `wait` into the Retry-After header.
        self.wait = decision.retry_after


# KEYS[1]: the bucket. ARGV: capacity, window in ms (capacity tokens refill over it), tokens
# wanted, unused tokens given back. Grants as many of the wanted tokens as there are whole ones.
# Returns {tokens granted, remaining tokens, ms until one token, ms until full}.
_TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local given_back = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
local per_ms = capacity / window_ms
tokens = math.min(capacity, tokens + math.max(0, now - ts) * per_ms + given_back)
local granted = 0
local wait_ms = 0
if tokens >= 1 then
  granted = math.min(wanted, math.floor(tokens))
  tokens = tokens - granted
else
  wait_ms = math.ceil((1 - tokens) / per_ms)
end
local full_ms = math.ceil((capacity - tokens) / per_ms)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], full_ms + 1000)
return {granted, math.floor(tokens), wait_ms, full_ms}
"""

# A lease lapses this long after it was taken; its unused tokens go back with the next one.
LEASE_SECONDS = 1.0
# A lease holds at most this share of the bucket (1 / LEASE_SHARE), and never more than LEASE_MAX.
LEASE_SHARE = 100
LEASE_MAX = 100
# Beyond this many keys with a lease, the lapsed ones are forgotten.
MAX_LEASES = 10_000


@dataclass
class _Lease:
    tokens: int  # still unused
    size: int  # tokens granted
    remaining: int  # in Redis's bucket when granted
    expires: float


class _RedisBuckets:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        self.script = self.client.register_script(_TAKE_SCRIPT)
        self.lock = threading.Lock()
        self.leases: dict[str, _Lease] = {}

    def take(self, key: str, capacity: int, window: int) -> tuple[bool, int, int, int]:
        now = time.monotonic()
        with self.lock:
            lease = self.leases.pop(key, None)
            if lease is not None and lease.tokens and now < lease.expires:
                lease.tokens -= 1
                self.leases[key] = lease
                remaining = lease.remaining + lease.tokens
                return True, remaining, 0, _ms_until_full(capacity, window, remaining)
        most = max(1, min(LEASE_MAX, capacity // LEASE_SHARE))
        # Used up before it lapsed: this key is busy here, so lease twice as many.
        wanted = min(most, lease.size * 2) if lease is not None and now < lease.expires else 1
        given_back = lease.tokens if lease is not None else 0
        granted, remaining, wait_ms, full_ms = self.script(
            keys=[f"kalkula:ratelimit:{key}"],
            args=[capacity, window * 1000, wanted, given_back],
        )
        granted, remaining = int(granted), int(remaining)
        if not granted:
            return False, remaining, int(wait_ms), int(full_ms)
        # Threads of one process racing here each take a lease; the last one stored wins and the
        # others' few tokens are not given back (sync workers serve one request at a time).
        with self.lock:
            if len(self.leases) >= MAX_LEASES:  # forget lapsed leases (their few tokens too)
                self.leases = {k: held for k, held in self.leases.items() if held.expires > now}
            self.leases[key] = _Lease(
                tokens=granted - 1, size=granted, remaining=remaining, expires=now + LEASE_SECONDS
            )
        # What the client has left counts the tokens this process holds for it.
        held = granted - 1
        return True, remaining + held, 0, int(full_ms) - held * window * 1000 // capacity


def _ms_until_full(capacity: int, window: int, remaining: int) -> int:
    return math.ceil((capacity - remaining) * window * 1000 / capacity)


class _LocalBuckets:
    """The Lua script's arithmetic in process memory, for the single-process embedded default."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, capacity: int, window: int) -> tuple[bool, int, int, int]:
        per_ms = capacity / (window * 1000)
        with self.lock:
            now = time.monotonic() * 1000
            tokens, ts = self.buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - ts) * per_ms)
            allowed = tokens >= 1
            wait_ms = 0 if allowed else math.ceil((1 - tokens) / per_ms)
            if allowed:
                tokens -= 1
            self.buckets[key] = (tokens, now)
        return allowed, math.floor(tokens), wait_ms, math.ceil((capacity - tokens) / per_ms)


_local = _LocalBuckets()
_redis_by_url: dict[str, _RedisBuckets] = {}
_redis_retry_at = 0.0


def _redis_buckets(url: str) -> _RedisBuckets:
    buckets = _redis_by_url.get(url)
    if buckets is None:
        buckets = _redis_by_url[url] = _RedisBuckets(url)
    return buckets


def rate_limit_take(*, identity: str, bucket: str, plan: str) -> Decision | None:
    """Take one token from `identity`'s `bucket` at `plan`'s rate. None when Redis is failing and
    the request goes through unlimited."""
    global _redis_retry_at
    capacity, window = settings.RATE_LIMITS[plan][bucket]
    key = f"{bucket}:{identity}"
    if settings.REDIS_URL:
        if time.monotonic() < _redis_retry_at:
            return None
        try:
            allowed, remaining, wait_ms, full_ms = _redis_buckets(settings.REDIS_URL).take(
                key, capacity, window
            )
        except (redis.RedisError, OSError) as exc:
            _redis_retry_at = time.monotonic() + settings.RATE_LIMIT_REDIS_RETRY_SECONDS
            logger.warning(
                "rate limiter: Redis failed (%s); letting requests through unlimited for %d s",
                exc,
                settings.RATE_LIMIT_REDIS_RETRY_SECONDS,
            )
            return None
    else:
        allowed, remaining, wait_ms, full_ms = _local.take(key, capacity, window)
    return Decision(
        allowed=allowed,
        limit=capacity,
        window=window,
        remaining=remaining,
        retry_after=0 if allowed else max(1, math.ceil(wait_ms / 1000)),
        reset=math.ceil(full_ms / 1000),
    )


def view_bucket(request: Request, view: "APIView") -> str:
    """Safe methods use the view's `read_bucket`, others its `write_bucket` (reads, writes)."""
    if request.method in SAFE_METHODS:
        return getattr(view, "read_bucket", READS)
    return getattr(view, "write_bucket", WRITES)


def _identity_and_plan(request: Request) -> tuple[str, str]:
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.pk}", request.auth.tenant.plan
    context = getattr(request._request, "tenant_context", None)
    if context is not None:  # a user acting for one of their tenants, at that tenant's rates
        return f"user:{request.user.pk}:{context.tenant.pk}", context.tenant.plan
    if request.user is not None and request.user.is_authenticated:
        return f"user:{request.user.pk}", Plan.FREE
    return f"ip:{request.META.get('REMOTE_ADDR', '')}", Plan.FREE


class BucketRateThrottle(BaseThrottle):
    """DRF's throttle hook for every API view: one token from the view's bucket per request."""

    def allow_request(self, request: Request, view: "APIView") -> bool:
        identity, plan = _identity_and_plan(request)
        decision = rate_limit_take(identity=identity, bucket=view_bucket(request, view), plan=plan)
        if decision is None:
            return True
        # RateLimitHeadersMiddleware puts it on the response, whatever the outcome.
        request._request.rate_limit = decision  # type: ignore[attr-defined]  # Kalkula's own
        if not decision.allowed:
            raise RateLimited(decision)
        return True
