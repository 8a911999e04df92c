from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from tenants.models import TenantOwnedModel


class Project(TenantOwnedModel):
    """A construction project whose budget is kept in versions; archived, never deleted by users."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IMPORTING = "importing", "Importing"
        AUDITING = "auditing", "Auditing"
        READY = "ready", "Ready"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200)
    currency = models.CharField(
        max_length=3,
        default="CZK",
        validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code, e.g. CZK or EUR.")],
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Cached aggregates of the current version, kept true by the services that change it.
    position_count = models.PositiveIntegerField(default=0)
    total_cost = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    green_count = models.PositiveIntegerField(default=0)
    amber_count = models.PositiveIntegerField(default=0)
    red_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return self.name
