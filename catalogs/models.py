from django.db import models

from projects.models import UNIT_PRICE_DIGITS, UNIT_PRICE_PLACES, Project
from tenants.models import TenantOwnedModel

# The tables keep the names they had when these models lived in the projects app.


class PriceCatalog(TenantOwnedModel):
    """Reference unit prices in editions; each import of a new edition raises `version` by one."""

    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="CZK")
    version = models.PositiveIntegerField(
        default=0, help_text="The number of the newest edition; 0: nothing imported yet."
    )
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
        db_table = "projects_pricecatalog"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="catalog_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class CatalogEdition(TenantOwnedModel):
    """One imported edition of a catalog (e.g. ÚRS 2026 01), kept with all its items for good."""

    catalog = models.ForeignKey(PriceCatalog, on_delete=models.CASCADE, related_name="editions")
    number = models.PositiveIntegerField(help_text="1, 2, … per catalog, in import order.")
    name = models.CharField(
        max_length=100,
        help_text="As budgets name it in their price system column, e.g. ÚRS 2026 01.",
    )
    source = models.ForeignKey(
        "evidence.Evidence",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The imported file, when it was kept as a document.",
    )
    item_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["catalog", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "number"], name="edition_unique_number"),
            models.UniqueConstraint(fields=["catalog", "name"], name="edition_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class CatalogItem(TenantOwnedModel):
    """One catalog line of one edition."""

    catalog = models.ForeignKey(PriceCatalog, on_delete=models.CASCADE, related_name="items")
    edition = models.ForeignKey(CatalogEdition, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=32)
    unit_price = models.DecimalField(max_digits=UNIT_PRICE_DIGITS, decimal_places=UNIT_PRICE_PLACES)
    changed_in_version = models.PositiveIntegerField(
        help_text="The catalog edition that last added or changed the item."
    )

    class Meta:
        db_table = "projects_catalogitem"
        ordering = ["edition", "code"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "code"], name="edition_item_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.description[:40]}"


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
    # The edition that changed the item and the one it changed against (None: before editions).
    edition = models.ForeignKey(
        CatalogEdition, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_edition = models.ForeignKey(
        CatalogEdition, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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
        db_table = "projects_alert"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "acknowledged_at"], name="alert_open")]

    def __str__(self) -> str:
        return f"{self.code}: {self.get_kind_display()}"
