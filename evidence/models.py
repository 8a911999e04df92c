import uuid

from django.conf import settings
from django.db import models

from tenants.models import TenantOwnedModel

# The text-search configuration of the content-search index and of the queries that must match it:
# 'simple' lowercases without stemming, which suits documents in Czech, German and English alike.
# The index (GIN over to_tsvector(SEARCH_CONFIG, text)) exists on PostgreSQL only and so is not in
# Meta.indexes (SQLite would choke on it whenever it rebuilds the table): migration 0001 makes it.
SEARCH_CONFIG = "simple"
SEARCH_INDEX_NAME = "evidence_text_search"


def evidence_key(*, tenant_id: object, sha256: str) -> str:
    """Where a tenant's bytes with this SHA-256 live in storage (content-addressed)."""
    return f"tenants/{tenant_id}/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def evidence_streamed_key(*, tenant_id: object) -> str:
    """Where a tenant's document sent to S3 while it arrived lives: named before its SHA-256 is
    known (see evidence.multipart)."""
    return f"tenants/{tenant_id}/documents/{uuid.uuid4()}"


class Evidence(TenantOwnedModel):
    """A document a tenant uploaded, stored once per tenant and SHA-256 of its bytes."""

    class Kind(models.TextChoices):
        BUDGET = "budget", "Budget"
        CATALOG = "catalog", "Price catalog"
        DRAWING = "drawing", "Drawing"
        INVOICE = "invoice", "Invoice"
        PHOTO = "photo", "Photo"
        CONTRACT = "contract", "Contract"
        REPORT = "report", "Report"
        EXPORT = "export", "Export"
        OTHER = "other", "Other"

    class TextStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        EXTRACTED = "extracted", "Extracted"
        NOT_APPLICABLE = "not_applicable", "No text to extract"
        FAILED = "failed", "Failed"

    sha256 = models.CharField(max_length=64)
    key = models.CharField(max_length=255, help_text="The object's name in storage.")
    name = models.CharField(max_length=255, help_text="The original file name, sanitised.")
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=127, help_text="Sniffed from the bytes.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evidence",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_by_key = models.ForeignKey(
        "tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField(blank=True, default="", help_text="Extracted for content search.")
    text_status = models.CharField(
        max_length=20, choices=TextStatus.choices, default=TextStatus.PENDING
    )
    text_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        verbose_name_plural = "evidence"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sha256"], name="evidence_unique_sha256")
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="evidence_tenant_created"),
            models.Index(fields=["project", "-created_at"], name="evidence_project_created"),
        ]

    def __str__(self) -> str:
        return self.name


class EvidenceDownload(TenantOwnedModel):
    """One download link handed out: who asked for which document, when, from where."""

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="evidence_dl_tenant_created")
        ]

    def __str__(self) -> str:
        return f"{self.evidence} at {self.created_at:%Y-%m-%d %H:%M}"


class Attachment(TenantOwnedModel):
    """A document attached to a budget position, or to one of its audit findings.

    Kept by the position's line key (and the finding's rule), which outlive the rows and finding
    rows a new version or a re-audit replaces: the document stays with the position."""

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="attachments")
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="attachments", db_index=False
    )
    line_key = models.CharField(max_length=512)
    rule = models.CharField(
        max_length=64, blank=True, help_text="Empty: the position; else its finding of this rule."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "line_key"], name="attachment_position")]
        constraints = [
            models.UniqueConstraint(
                fields=["evidence", "project", "line_key", "rule"], name="attachment_unique"
            )
        ]

    def __str__(self) -> str:
        target = f"{self.line_key} {self.rule}".strip()
        return f"{self.evidence} → {target}"
