"""Writes for tenants, memberships, API keys and usage."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.db import RowReader, shallow_copy
from core.errors import ApiError
from tenants.access import access_end, key_access_group
from tenants.caches import (
    active_api_keys,
    caches_usable,
    forget_tenant_usage,
    usage_notification,
)
from tenants.models import ApiKey, Membership, Plan, Role, Tenant, UsageCounter

API_KEY_PREFIX_BYTES = 6
API_KEY_SECRET_BYTES = 32
API_KEY_SCHEME = "kk"


def tenant_create(
    *, slug: str, name: str, plan: str = Plan.FREE, owner: User | None = None
) -> Tenant:
    if plan not in Plan.values:
        raise ApiError(code="invalid_plan", message=f"Unknown plan {plan!r}; one of {Plan.values}.")
    with transaction.atomic():
        try:
            tenant = Tenant.objects.create(slug=slug, name=name, plan=plan)
        except IntegrityError:
            raise ApiError(
                code="tenant_exists", message=f"A tenant {slug!r} exists already.", status_code=409
            ) from None
        if owner is not None:
            Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
    return tenant


def tenant_status_set(*, tenant: Tenant, status: str) -> Tenant:
    """Suspend (every request and job start answers 403 `tenant_suspended`, open websockets are
    closed) or resume a tenant: the one way the commands do it (the admin form saves the same
    field, and tenants.signals closes the sockets and drops the cached keys either way)."""
    if status not in Tenant.Status.values:
        raise ApiError(code="invalid", message=f"Unknown status {status!r}.")
    if tenant.status != status:
        tenant.status = status
        tenant.save(update_fields=["status"])
    return tenant


def membership_set(*, tenant: Tenant, user: User, role: str) -> Membership:
    """Give `user` the `role` in `tenant`, creating the membership when needed."""
    membership, _ = Membership.objects.update_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )
    return membership


def user_get_or_create(*, email: str) -> User:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=email, defaults={"email": email})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@dataclass(frozen=True)
class IssuedKey:
    """A newly created key with its secret, which exists only here and is never stored."""

    api_key: ApiKey
    secret: str


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    role: str = Role.MEMBER,
    created_by: User | None = None,
) -> IssuedKey:
    """Make a key `kk_<prefix>_<secret>`; the prefix is public and indexed, the whole is hashed."""
    if role not in Role.values:
        raise ApiError(code="invalid_role", message=f"Unknown role {role!r}; one of {Role.values}.")
    prefix = secrets.token_hex(API_KEY_PREFIX_BYTES)
    raw_key = f"{API_KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(API_KEY_SECRET_BYTES)}"
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        role=role,
        prefix=prefix,
        hashed_key=hash_key(raw_key),
        created_by=created_by,
    )
    return IssuedKey(api_key=api_key, secret=raw_key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke at once: every server process refuses the key from its next request (see
    tenants.caches), and the websockets open with the key are closed once the revocation
    commits."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        group = key_access_group(api_key_id=api_key.pk)
        transaction.on_commit(lambda: access_end(group=group))
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. The hash is compared in constant time."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_SCHEME:
        return None
    prefix = parts[1]
    # Every API request runs this: the active key is cached, and saving or deleting a key or its
    # tenant in any process drops it before the next request (tenants.caches).
    use_cache = caches_usable()
    cached = active_api_keys.get(prefix) if use_cache else None
    if cached is None:
        cached = _active_api_key_read(prefix=prefix)
        if cached is None:
            return None
        if use_cache:
            active_api_keys.set(prefix, cached)
    if not hmac.compare_digest(cached.hashed_key, hash_key(raw_key)):
        return None
    _api_key_touch(api_key=cached)
    # The request gets its own copies: nothing it changes on them reaches the cache.
    api_key = shallow_copy(cached)
    api_key.tenant = shallow_copy(cached.tenant)
    return api_key


def _active_api_key_read(*, prefix: str) -> ApiKey | None:
    # One plain statement, read as the ORM would, costs a fifth of the ORM's compiled join (most
    # of which is compiling it).
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_KEY_SQL, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = _API_KEY_ROWS.read(row[: len(_API_KEY_ROWS.fields)])
    api_key.tenant = _TENANT_ROWS.read(row[len(_API_KEY_ROWS.fields) :])
    return api_key


_API_KEY_ROWS = RowReader(ApiKey)
_TENANT_ROWS = RowReader(Tenant)
_ACTIVE_KEY_SQL = (
    f"SELECT {_API_KEY_ROWS.columns('k')}, {_TENANT_ROWS.columns('t')} "  # noqa: S608 - model names
    "FROM tenants_apikey k JOIN tenants_tenant t ON t.id = k.tenant_id "
    "WHERE k.prefix = %s AND k.revoked_at IS NULL"
)


def _api_key_touch(*, api_key: ApiKey) -> None:
    """Record use at most once per resolution window: one conditional UPDATE, usually a no-op."""
    now = timezone.now()
    stale_before = now - settings.API_KEY_LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at >= stale_before:
        return
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before)
    ).update(last_used_at=now)
    api_key.last_used_at = now


def current_month() -> date:
    return timezone.now().date().replace(day=1)


_METRIC_LIMITS: dict[str, str] = {
    UsageCounter.Metric.JOBS_STARTED: "max_jobs_per_month",
    UsageCounter.Metric.EVIDENCE_BYTES: "max_evidence_bytes",
}


def usage_consume(*, tenant: Tenant, metric: str, amount: int = 1) -> None:
    """Count `amount` against this month's quota for `metric`, or raise `quota_exceeded` (429)
    and count nothing. Call it inside the transaction that does the work, before doing it.

    One statement (`usage_count_sql`), which on PostgreSQL also sends the usage cache's
    notification: with nothing written on refusal the caller's transaction needs no savepoint,
    and job starts pay 1 round trip where a savepoint, SELECT FOR UPDATE, UPDATE, NOTIFY and
    release took 6."""
    sql, params = usage_count_sql(tenant=tenant, metric=metric, amount=amount)
    notification = usage_notification(tenant_id=tenant.pk)
    if notification is not None:
        sql = f"WITH counted AS ({sql}) SELECT {notification[0]} FROM counted"  # noqa: S608 - ours
        params = [*params, *notification[1]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counted = cursor.fetchone() is not None
    if not counted:
        raise usage_refused(tenant=tenant, metric=metric, amount=amount)
    forget_tenant_usage(tenant_id=tenant.pk, notified=True)


def usage_count_sql(*, tenant: Tenant, metric: str, amount: int = 1) -> tuple[str, list]:
    """An INSERT … ON CONFLICT adding `amount` to this month's counter (creating it) unless
    that would pass the quota, RETURNING the new value: no row when refused (`usage_refused`
    says why), and nothing written. Raises `quota_exceeded` when `amount` alone passes it. For
    `usage_consume`, and for a write that counts in a statement of its own (job_create)."""
    limit = getattr(tenant.quotas, _METRIC_LIMITS[metric])
    if amount > limit:
        raise usage_refused(tenant=tenant, metric=metric, amount=amount)
    fields = {field.name: field for field in UsageCounter._meta.concrete_fields}
    fields = {name: fields[name] for name in _COUNTER_COLUMNS}
    quote = connection.ops.quote_name
    table = quote(UsageCounter._meta.db_table)
    columns = {name: quote(str(field.column)) for name, field in fields.items()}
    values = {"id": uuid.uuid4(), "tenant": tenant.pk, "month": current_month(), "metric": metric}
    params = [fields[name].get_db_prep_value(value, connection) for name, value in values.items()]
    value = columns["value"]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns.values())}) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608 - model names
        f"ON CONFLICT ({columns['tenant']}, {columns['month']}, {columns['metric']}) "
        f"DO UPDATE SET {value} = {table}.{value} + excluded.{value} "
        f"WHERE {table}.{value} + excluded.{value} <= %s RETURNING {value}"
    )
    return sql, [*params, amount, limit]


# In the order of usage_count_sql's VALUES.
_COUNTER_COLUMNS = ("id", "tenant", "month", "metric", "value")


def usage_refused(*, tenant: Tenant, metric: str, amount: int) -> ApiError:
    """The `quota_exceeded` error (429) for counting `amount` more of `metric` this month."""
    limit = getattr(tenant.quotas, _METRIC_LIMITS[metric])
    month = current_month()
    used = (
        UsageCounter.objects.filter(tenant=tenant, month=month, metric=metric)
        .values_list("value", flat=True)
        .first()
    ) or 0
    resets_on = (month + timedelta(days=32)).replace(day=1)
    return ApiError(
        code="quota_exceeded",
        message=f"This would exceed your plan's monthly {metric.replace('_', ' ')} quota: "
        f"{used} of {limit} used, {amount} more asked; it resets on {resets_on}.",
        status_code=429,
        details={
            "metric": metric,
            "used": used,
            "limit": limit,
            "requested": amount,
            "resets_on": resets_on.isoformat(),
        },
    )


def positions_quota_check(*, tenant: Tenant, count: int) -> None:
    """Refuse with `quota_exceeded` (429) a budget version of `count` positions, more than the
    plan allows per project. Every way a version is made (an import, a revert, a legacy
    migration) calls it before its transaction commits."""
    limit = tenant.quotas.max_positions_per_project
    if count > limit:
        raise ApiError(
            code="quota_exceeded",
            message=f"A project may hold {limit} positions on your plan; this budget has {count}.",
            status_code=429,
            details={"metric": "positions_per_project", "requested": count, "limit": limit},
        )


def usage_increment(*, tenant: Tenant, metric: str, amount: int = 1) -> None:
    """Add `amount` to this month's counter atomically (safe under concurrent requests)."""
    month = current_month()
    counter = UsageCounter.objects.filter(tenant=tenant, month=month, metric=metric)
    if not counter.update(value=F("value") + amount):
        try:
            with transaction.atomic():
                UsageCounter.objects.create(tenant=tenant, month=month, metric=metric, value=amount)
        except IntegrityError:  # another request created it first
            counter.update(value=F("value") + amount)
    forget_tenant_usage(tenant_id=tenant.pk)
