import uuid
from dataclasses import dataclass
from typing import Self, TypeVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Plan(models.TextChoices):
    FREE = "free", "Free"
    TEAM = "team", "Team"
    ENTERPRISE = "enterprise", "Enterprise"


@dataclass(frozen=True)
class Quotas:
    max_positions_per_project: int
    max_jobs_per_month: int
    max_evidence_bytes: int


PLAN_QUOTAS: dict[str, Quotas] = {
    Plan.FREE: Quotas(
        max_positions_per_project=5_000, max_jobs_per_month=200, max_evidence_bytes=1 * 1024**3
    ),
    Plan.TEAM: Quotas(
        max_positions_per_project=200_000,
        max_jobs_per_month=10_000,
        max_evidence_bytes=50 * 1024**3,
    ),
    Plan.ENTERPRISE: Quotas(
        max_positions_per_project=2_000_000,
        max_jobs_per_month=1_000_000,
        max_evidence_bytes=2 * 1024**4,
    ),
}


class Role(models.TextChoices):
    """Ordered from least to most privileged."""

    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"
    OWNER = "owner", "Owner"

    @classmethod
    def at_least(cls, role: str, minimum: str) -> bool:
        # Every API request asks this: a dict lookup, not a list of the choices built each time.
        return _ROLE_RANKS[role] >= _ROLE_RANKS[minimum]


_ROLE_RANKS = {role: rank for rank, role in enumerate(Role.values)}


class Tenant(models.Model):
    """An organisation: the unit of isolation for all budget data."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # Per-tenant overrides of the plan's quotas; empty means the plan's value.
    max_positions_per_project = models.PositiveIntegerField(null=True, blank=True)
    max_jobs_per_month = models.PositiveIntegerField(null=True, blank=True)
    max_evidence_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def quotas(self) -> Quotas:
        plan = PLAN_QUOTAS[self.plan]
        return Quotas(
            max_positions_per_project=self.max_positions_per_project
            or plan.max_positions_per_project,
            max_jobs_per_month=self.max_jobs_per_month or plan.max_jobs_per_month,
            max_evidence_bytes=self.max_evidence_bytes or plan.max_evidence_bytes,
        )


_M = TypeVar("_M", bound=models.Model)


class TenantQuerySet(models.QuerySet[_M]):
    """Generic in its model, so `Model.objects.for_tenant(t)` is a QuerySet of that model."""

    def for_tenant(self, tenant: Tenant) -> Self:
        return self.filter(tenant=tenant)


class TenantOwnedModel(models.Model):
    """Base for every row that belongs to one tenant; read it through `objects.for_tenant(t)`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(TenantOwnedModel):
    """A user's role in a tenant."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user")
        ]
        ordering = ["tenant", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"


class ApiKey(TenantOwnedModel):
    """A secret for programmatic access; only its SHA-256 is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class UsageCounter(TenantOwnedModel):
    """A tenant's running total of one metric in one calendar month (UTC)."""

    class Metric(models.TextChoices):
        JOBS_STARTED = "jobs_started", "Jobs started"
        EVIDENCE_BYTES = "evidence_bytes", "Evidence bytes uploaded"

    month = models.DateField(help_text="First day of the month.")
    metric = models.CharField(max_length=30, choices=Metric.choices)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "metric"], name="usage_counter_unique_month_metric"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.month:%Y-%m} {self.metric}={self.value}"


class IdempotencyKey(TenantOwnedModel):
    """A POST's Idempotency-Key with the first answer to it, replayed to repeats within 24 h."""

    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    # Written in the transaction that claims the key, so a committed row always has its answer.
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.key}"


class RequestLog(TenantOwnedModel):
    """One API request as its tenant sees it in the request log."""

    created_at = models.DateTimeField(default=timezone.now)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    status_code = models.PositiveSmallIntegerField()
    duration_ms = models.DecimalField(max_digits=12, decimal_places=3)
    request_id = models.CharField(max_length=128)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["request_id"]),
            # Retention deletes by age across all tenants.
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"
