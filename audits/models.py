from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalogs.models import CatalogItem, PriceCatalog
from projects.models import BudgetVersion, Position, Project
from tenants.models import TenantOwnedModel

# The tables keep the names they had when these models lived in the projects app.


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
        db_table = "projects_auditpolicy"
        verbose_name_plural = "audit policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="audit_policy_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Audit policy of {self.tenant}"


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
        db_table = "projects_auditreport"
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
        db_table = "projects_finding"
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
        db_table = "projects_waiver"
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
