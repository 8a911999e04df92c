from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from audits.rules.engine import policy_problems
from audits.rules.types import Policy
from catalogs.models import CatalogItem, PriceCatalog
from projects.models import BudgetVersion, Position, Project
from tenants.models import TenantOwnedModel

# The tables keep the names they had when these models lived in the projects app.


class Recommendation(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


def _share(default: str, help_text: str) -> models.DecimalField:
    """A share or a score: four places."""
    return models.DecimalField(
        max_digits=7, decimal_places=4, default=Decimal(default), help_text=help_text
    )


class AuditPolicy(TenantOwnedModel):
    """A tenant's audit thresholds and rule switches; a tenant without one audits with the
    defaults (audits.rules.types.Policy)."""

    arithmetic_abs_tolerance = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        default=Decimal("0.01"),
        help_text="How far quantity × unit price may be from the total, in the budget's "
        "currency, before the arithmetic check fails (0.01: a rounding cent). 0 or more.",
    )
    arithmetic_rel_tolerance = _share(
        "0.005",
        "The same as a share of the total (0.005 = 0.5 %); the larger of the two tolerances "
        "applies. Between 0 and 1.",
    )
    cost_red_above = _share(
        "0.25",
        "A unit price this share above the catalog's turns red (0.25 = 25 % dearer). Above the "
        "amber threshold.",
    )
    cost_amber_above = _share(
        "0.10",
        "A unit price this share above the catalog's turns amber (0.10 = 10 % dearer). 0 or "
        "more, below the red threshold.",
    )
    cost_amber_below = _share(
        "-0.10",
        "A unit price this share below the catalog's turns amber: suspiciously cheap (−0.10 = "
        "10 % cheaper). Between −1 and 0.",
    )
    takeoff_abs_tolerance = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        default=Decimal("0.01"),
        help_text="How far a quantity may be from its take-off's result, in the position's "
        "unit, and still be rounding (0.01). 0 or more.",
    )
    takeoff_amber_above = _share(
        "0.001",
        "A quantity this share away from its take-off's result turns amber (0.001 = 0.1 %). "
        "0 or more, below the red share.",
    )
    takeoff_red_above = _share(
        "0.01",
        "A quantity this share away from its take-off's result turns red (0.01 = 1 %). Above "
        "the amber share.",
    )
    outlier_min_sample = models.PositiveSmallIntegerField(
        default=5,
        help_text="Comparable unit prices needed before a price is judged against them. At "
        "least 3.",
    )
    outlier_amber_score = _share(
        "3.5",
        "A unit price whose robust z-score (its distance from the comparable prices' median, "
        "in MADs × 1.4826) is above this turns amber (3.5). Below the red score.",
    )
    outlier_red_score = _share("7", "… and above this red (7). Above the amber score.")
    outlier_min_deviation = _share(
        "0.10",
        "A unit price closer than this share to the median is never an outlier, whatever its "
        "score (0.10 = 10 %). 0 or more.",
    )
    concentration_top_count = models.PositiveSmallIntegerField(
        default=3,
        help_text="How many of the dearest positions the concentration check looks at "
        "(3). At least 1.",
    )
    concentration_share = _share(
        "0.50",
        "Those positions carrying more than this share of the total turn amber (0.50 = half "
        "the budget). Above 0, at most 1.",
    )
    lump_sum_amber_share = _share(
        "0.15",
        "Lump sums (soubor, kpl) carrying more than this share of the total turn amber (0.15). "
        "Below the red share.",
    )
    lump_sum_red_share = _share(
        "0.30",
        "… and more than this share red (0.30). Above the amber share, at most 1.",
    )
    code_price_tolerance = _share(
        "0.01",
        "Positions with one code whose unit prices lie further apart than this share (highest "
        "/ lowest − 1) turn amber (0.01 = 1 %). 0 or more.",
    )
    rules = models.JSONField(
        default=dict,
        blank=True,
        help_text='Rules switched on or off against their defaults, e.g. {"takeoff.missing": '
        'true, "outliers.version": true} (docs/features/audits.md lists the rules).',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "projects_auditpolicy"
        verbose_name_plural = "audit policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="audit_policy_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Audit policy of {self.tenant}"

    def as_policy(self) -> Policy:
        """The thresholds as the rules take them."""
        return Policy(**{name: getattr(self, name) for name in Policy.__dataclass_fields__})

    def clean(self) -> None:
        """Thresholds that would make every audit meaningless are refused, field by field."""
        super().clean()
        if not isinstance(self.rules, dict) or not all(
            isinstance(on, bool) for on in self.rules.values()
        ):
            raise ValidationError({"rules": 'Rule names and true or false: {"rule": true}.'})
        try:
            policy = self.as_policy()
        except (TypeError, ValueError, ArithmeticError):
            return  # a field that is not a number yet: its own validation says so
        problems = policy_problems(policy)
        if problems:
            raise ValidationError(problems)


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
    withdrawn_reason = models.TextField(blank=True, help_text="Why the waiver was withdrawn.")

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
