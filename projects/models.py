from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from tenants.models import Tenant, TenantOwnedModel

# Scales of the stored numbers; importers round to these (with a warning) and refuse larger values.
QUANTITY_DIGITS, QUANTITY_PLACES = 20, 6
UNIT_PRICE_DIGITS, UNIT_PRICE_PLACES = 18, 4
MONEY_DIGITS, MONEY_PLACES = 18, 2
# Position kinds whose total is not added to any total (see Position.NOT_COUNTED_KINDS).
NOT_COUNTED_KINDS = frozenset({"alternative", "contingency_without_total"})


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
    # The project's id in the installation it was migrated from (import_legacy); empty otherwise.
    legacy_id = models.CharField(max_length=100, blank=True)
    current_version = models.ForeignKey(
        "BudgetVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Cached aggregates of the current version, kept true by the services that change it.
    position_count = models.PositiveIntegerField(default=0)
    total_cost = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    green_count = models.PositiveIntegerField(default=0)
    amber_count = models.PositiveIntegerField(default=0)
    red_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "legacy_id"],
                condition=~Q(legacy_id=""),
                name="project_unique_legacy_id",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.status == self.Status.ARCHIVED


class BudgetVersion(TenantOwnedModel):
    """One committed state of a project's budget (1, 2, … per project); immutable once written."""

    class Trigger(models.TextChoices):
        IMPORT = "import", "Import"
        EDIT = "edit", "Edit"
        LEGACY = "legacy", "Legacy migration"
        REVERT = "revert", "Revert"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who made it, as shown to people: a user name or an API key's name (keys have no user).
    actor = models.CharField(max_length=200, blank=True)
    source_name = models.CharField(max_length=255, blank=True, help_text="Imported file's name.")
    # The import job that wrote it: a redelivered job finds its version instead of making another.
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=500, blank=True)
    added_count = models.PositiveIntegerField(default=0)
    removed_count = models.PositiveIntegerField(default=0)
    modified_count = models.PositiveIntegerField(default=0)
    delta_cost = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal("0")
    )
    position_count = models.PositiveIntegerField(default=0)
    total_cost = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal("0")
    )
    # The imported items summed per object and part against the totals the file declares:
    # [{"object", "part", "declared", "computed", "difference"}] (amounts as decimal text).
    reconciliation = models.JSONField(default=list, blank=True)
    # Whatever totals the file states about itself: {"net": "…", "vat": "…", "gross": "…", …}.
    declared_totals = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="version_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}"


class Position(TenantOwnedModel):
    """A budget line, valid from version `valid_from` until (not including) `valid_to`.

    Rows are never changed once written, except `valid_to` (set when a later version replaces or
    drops the row) and the derived `audit_status`. An edit closes one row and opens another, so
    every old version stays exactly browsable and versions share their unchanged rows."""

    class AuditStatus(models.TextChoices):
        UNAUDITED = "unaudited", "Unaudited"
        GREEN = "green", "Green"
        AMBER = "amber", "Amber"
        RED = "red", "Red"

    # The one rule for which kinds count toward totals (versions, projects, diffs, exports):
    # an alternative (GAEB Wahlposition) and a contingency without total are priced, not added.
    NOT_COUNTED_KINDS = NOT_COUNTED_KINDS

    # The composite indexes below start with the project or the tenant, so neither foreign key
    # needs an index of its own.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="positions", db_index=False
    )
    valid_from = models.PositiveIntegerField()
    valid_to = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: current.")
    ordinal = models.PositiveBigIntegerField(
        help_text="Place in its version: increasing in file order, with gaps for insertions."
    )
    # Identity across versions: the position number (with the object in hierarchical formats),
    # or code + description + unit when there is no number.
    line_key = models.CharField(max_length=512)
    section = models.CharField(max_length=500, blank=True, help_text="Object / section path.")
    position_number = models.CharField(max_length=32, blank=True)
    code = models.CharField(max_length=64, blank=True)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=32, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    quantity = models.DecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    # Empty in an unpriced tender.
    unit_price = models.DecimalField(
        max_digits=UNIT_PRICE_DIGITS, decimal_places=UNIT_PRICE_PLACES, null=True, blank=True
    )
    total_price = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    # What the file says beyond the numbers. The row or item kind as the file gives it: "K" work
    # and "M" material (KROS, ÚRS), "P" (ASPE); GAEB "base", "alternative", "contingency",
    # "contingency_without_total", "markup", "lump_sum", "hourly", "qty_tbd"; "" a plain item.
    kind = models.CharField(max_length=32, blank=True)
    price_system = models.CharField(
        max_length=64, blank=True, help_text="Price system and edition, e.g. CS ÚRS 2025 01."
    )
    long_text = models.TextField(blank=True)
    # Take-off lines: [{"expression": "(14+1)*(7,2+1)", "value": "123" or null, "line": 140}].
    takeoff = models.JSONField(default=list, blank=True)
    # Where the file splits the unit price into material and assembly.
    material_unit_price = models.DecimalField(
        max_digits=UNIT_PRICE_DIGITS, decimal_places=UNIT_PRICE_PLACES, null=True, blank=True
    )
    assembly_unit_price = models.DecimalField(
        max_digits=UNIT_PRICE_DIGITS, decimal_places=UNIT_PRICE_PLACES, null=True, blank=True
    )
    audit_status = models.CharField(
        max_length=10, choices=AuditStatus.choices, default=AuditStatus.UNAUDITED
    )
    # The line in the file of the version that wrote the row (valid_from).
    source_line = models.PositiveIntegerField(null=True, blank=True)
    # Hash of everything above but audit_status: an import keeps a row whose content is unchanged.
    fingerprint = models.CharField(max_length=32)

    class Meta:
        ordering = ["project", "ordinal"]
        indexes = [
            # Listing any version in file order (ordinals are unique within a version).
            models.Index(fields=["project", "ordinal"], name="position_order"),
            # A diff reads only the rows opened or closed between its two versions.
            models.Index(fields=["project", "valid_from"], name="position_opened"),
            models.Index(fields=["project", "valid_to"], name="position_closed"),
            # A catalog update finds the tenant's positions by the codes whose price changed.
            models.Index(fields=["tenant", "code"], name="position_tenant_code"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="position_valid_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.line_key} {self.description[:40]}"

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class Comment(TenantOwnedModel):
    """A message in a project's discussion, optionally about some positions (by line key)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField()
    line_keys = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.actor}: {self.body[:40]}"
