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


class Recommendation(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


class AuditPolicy(TenantOwnedModel):
    """A tenant's audit thresholds; a tenant without one audits with the defaults."""

    arithmetic_abs_tolerance = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal("0.01")
    )
    arithmetic_rel_tolerance = models.DecimalField(
        max_digits=7, decimal_places=4, default=Decimal("0.005")
    )
    cost_red_above = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0.25"))
    cost_amber_above = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0.10"))
    cost_amber_below = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("-0.10"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "audit policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="audit_policy_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Audit policy of {self.tenant}"


class PriceCatalog(TenantOwnedModel):
    """Reference unit prices; each import of a new edition raises `version` by one."""

    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="CZK")
    version = models.PositiveIntegerField(default=0, help_text="0: nothing imported yet.")
    source = models.ForeignKey(
        "evidence.Evidence",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The file of the newest edition.",
    )
    item_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="catalog_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class CatalogItem(TenantOwnedModel):
    """One catalog line as of the catalog's newest edition."""

    catalog = models.ForeignKey(PriceCatalog, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=32)
    unit_price = models.DecimalField(max_digits=UNIT_PRICE_DIGITS, decimal_places=UNIT_PRICE_PLACES)
    changed_in_version = models.PositiveIntegerField(
        help_text="The catalog edition that last added or changed the item."
    )

    class Meta:
        ordering = ["catalog", "code"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "code"], name="catalog_item_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.description[:40]}"


class AuditReport(TenantOwnedModel):
    """One audit run's verdicts as a canonical JSON document in evidence storage.

    Each report names the SHA-256 of the project's previous report: a tamper-evident chain."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="audit_reports")
    version = models.ForeignKey(BudgetVersion, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField(help_text="1, 2, … per project.")
    catalog = models.ForeignKey(
        PriceCatalog, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    catalog_version = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    previous_sha256 = models.CharField(max_length=64, blank=True)
    document = models.ForeignKey(
        "evidence.Evidence", on_delete=models.PROTECT, related_name="+", help_text="The JSON."
    )
    green_count = models.PositiveIntegerField(default=0)
    amber_count = models.PositiveIntegerField(default=0)
    red_count = models.PositiveIntegerField(default=0)
    finding_count = models.PositiveIntegerField(default=0)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="audit_report_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.project} report {self.number}"


class Finding(TenantOwnedModel):
    """One rule's verdict on one position of one version (the DESIGN's AuditResult).

    Position rows are shared by the versions they are valid in, so a finding names its version;
    re-auditing a version replaces that version's findings."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="findings", db_index=False
    )
    # Indexed by finding_line, which leads with it.
    version = models.ForeignKey(
        BudgetVersion, on_delete=models.CASCADE, related_name="findings", db_index=False
    )
    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="findings")
    line_key = models.CharField(max_length=512)
    rule = models.CharField(max_length=64, help_text="e.g. cost.deviation, legacy.cost")
    role = models.CharField(max_length=32, help_text="validation, arithmetic, catalog, cost, …")
    recommendation = models.CharField(max_length=5, choices=Recommendation.choices)
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    reasoning = models.TextField()
    suggested_fix = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    # The nullable references are indexed where set only (Meta.indexes): most findings name no
    # catalog or report, and a NULL entry in an index only costs every bulk write.
    catalog = models.ForeignKey(
        PriceCatalog,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    catalog_item = models.ForeignKey(
        CatalogItem,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    catalog_version = models.PositiveIntegerField(null=True, blank=True)
    source_line = models.PositiveIntegerField(null=True, blank=True)
    report = models.ForeignKey(
        AuditReport,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "line_key", "rule"]
        indexes = [
            models.Index(fields=["project", "version"], name="finding_version"),
            models.Index(fields=["version", "line_key"], name="finding_line"),
            models.Index(
                fields=["catalog"], condition=Q(catalog__isnull=False), name="finding_catalog"
            ),
            models.Index(
                fields=["catalog_item"],
                condition=Q(catalog_item__isnull=False),
                name="finding_catalog_item",
            ),
            models.Index(
                fields=["report"], condition=Q(report__isnull=False), name="finding_report"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_key} {self.rule} {self.recommendation}"


class Waiver(TenantOwnedModel):
    """A reviewer's decision that a finding does not count toward its position's status.

    Kept by (version, line key, rule) rather than by finding row, so it outlives a re-audit that
    replaces the findings; a withdrawn waiver stays in the history."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="waivers")
    version = models.ForeignKey(BudgetVersion, on_delete=models.CASCADE, related_name="+")
    line_key = models.CharField(max_length=512)
    rule = models.CharField(max_length=64)
    finding_reasoning = models.TextField(help_text="What the waived finding said.")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["version", "line_key"], name="waiver_line")]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "line_key", "rule"],
                condition=Q(withdrawn_at__isnull=True),
                name="waiver_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.line_key} {self.rule} waived"


class Alert(TenantOwnedModel):
    """A catalog update changed the reference price or unit of a position's item."""

    class Kind(models.TextChoices):
        PRICE = "price_changed", "Reference price changed"
        UNIT = "unit_changed", "Unit changed"
        PRICE_AND_UNIT = "price_and_unit_changed", "Reference price and unit changed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alerts")
    catalog = models.ForeignKey(PriceCatalog, on_delete=models.CASCADE, related_name="alerts")
    catalog_item = models.ForeignKey(
        CatalogItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    catalog_version = models.PositiveIntegerField()
    kind = models.CharField(max_length=30, choices=Kind.choices)
    line_key = models.CharField(max_length=512)
    position_number = models.CharField(max_length=32, blank=True)
    code = models.CharField(max_length=64)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True, help_text="Old and new price and unit.")
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "acknowledged_at"], name="alert_open")]

    def __str__(self) -> str:
        return f"{self.code}: {self.get_kind_display()}"
