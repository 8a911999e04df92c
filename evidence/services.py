"""Writes for evidence: storing uploads once per tenant, download links, integrity checks, text
extraction and the clean-up of what interrupted uploads leave behind."""

import hashlib
import logging
import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from rest_framework import status

from core.errors import ApiError, unknown_reference
from evidence import storage
from evidence.extraction import ExtractionFailed, extract_text, has_text
from evidence.filetypes import check_allowed, check_archive
from evidence.models import Evidence, EvidenceDownload, evidence_key
from evidence.selectors import DOWNLOAD_TOKEN_SALT, evidence_stored_bytes
from evidence.storage import SPOOL_PREFIX
from evidence.uploads import SpooledUpload, spool_fileobj
from jobs.events import Event, publish, topic_for
from jobs.services import job_create
from projects.models import Project
from tenants.models import ApiKey, Tenant, UsageCounter
from tenants.services import usage_consume

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 200
_PATH_SEPARATORS = re.compile(r"[/\\]")
_WHITESPACE = re.compile(r"\s+")
# Documents' objects: content-addressed, or named as their upload started (evidence_streamed_key).
_STORED_KEY = re.compile(
    r"tenants/(?P<tenant>[0-9a-f-]{36})/"
    r"(sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\S*|documents/[0-9a-f-]{36})"
)


def evidence_sanitize_name(name: str) -> str:
    """A file name fit to keep and to send back in Content-Disposition: its last path segment,
    without control or invisible formatting characters (RTL overrides), leading dots or runs of
    whitespace, at most MAX_NAME_LENGTH characters with its extension kept."""
    name = unicodedata.normalize("NFC", name)
    name = _PATH_SEPARATORS.split(name)[-1]
    name = "".join(char for char in name if not unicodedata.category(char).startswith("C"))
    name = _WHITESPACE.sub(" ", name).strip(" .")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = f"{stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip(' .')}.{extension}"
        else:
            name = name[:MAX_NAME_LENGTH]
    return name or "unnamed"


@dataclass(frozen=True)
class StoredEvidence:
    evidence: Evidence
    duplicate: bool


def _lock_tenant(tenant: Tenant) -> None:
    """Serialise a tenant's final storage decisions (PostgreSQL row lock; on SQLite every write
    transaction is already exclusive)."""
    Tenant.objects.select_for_update().only("pk").get(pk=tenant.pk)


def _check_storage_quota(*, tenant: Tenant, size: int) -> None:
    used = evidence_stored_bytes(tenant=tenant)
    limit = tenant.quotas.max_evidence_bytes
    if used + size > limit:
        raise ApiError(
            code="storage_quota_exceeded",
            message=f"Storing this file ({size} bytes) would exceed your plan's evidence storage "
            f"({used} of {limit} bytes used).",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            details={"used": used, "limit": limit, "size": size},
        )


def evidence_store(
    *,
    tenant: Tenant,
    upload: SpooledUpload,
    kind: str = Evidence.Kind.OTHER,
    project: Project | None = None,
    uploaded_by: User | None = None,
    api_key: ApiKey | None = None,
    check_type: bool = True,
) -> StoredEvidence:
    """Keep a spooled upload as the tenant's evidence, once per tenant and SHA-256.

    Refuses empty files (400), types outside EVIDENCE_ALLOWED_TYPES (415; not checked with
    `check_type=False`, for documents another installation accepted already) and files that would
    take the tenant over its storage quota (413) or monthly upload quota (429), storing nothing.
    The same bytes again, even concurrently, give the existing row with `duplicate=True`."""
    if upload.size == 0:
        raise ApiError(code="empty_file", message="The file is empty.")
    if project is not None and project.tenant_id != tenant.pk:
        raise unknown_reference("project")
    if kind not in Evidence.Kind.values:
        raise ApiError(code="invalid", message=f"kind: one of {Evidence.Kind.values}.")
    content_type = upload.sniffed_type
    if check_type:
        check_allowed(content_type)
    check_archive(upload.head, upload.file)
    existing = Evidence.objects.for_tenant(tenant).filter(sha256=upload.sha256).first()
    if existing is not None:
        return StoredEvidence(evidence=existing, duplicate=True)
    # Checked before storing so that the usual refusal stores nothing even for a moment; checked
    # again under the lock below for uploads that race.
    _check_storage_quota(tenant=tenant, size=upload.size)

    if upload.remote is not None:
        # Sent to an object of its own while it arrived: completed there, never copied.
        key, created_object, own_object = upload.remote.complete(), True, True
    else:
        key = evidence_key(tenant_id=tenant.pk, sha256=upload.sha256)
        created_object = storage.save_file(key, upload, content_type=content_type)
        own_object = False  # a racing upload of the same bytes may count on it
    with transaction.atomic():
        _lock_tenant(tenant)
        existing = Evidence.objects.for_tenant(tenant).filter(sha256=upload.sha256).first()
        if existing is not None:
            if own_object:
                default_storage.delete(key)
            return StoredEvidence(evidence=existing, duplicate=True)
        try:
            _check_storage_quota(tenant=tenant, size=upload.size)
            usage_consume(
                tenant=tenant, metric=UsageCounter.Metric.EVIDENCE_BYTES, amount=upload.size
            )
        except ApiError:
            if created_object:
                default_storage.delete(key)
            raise
        if not default_storage.exists(key):
            # A racing upload of the same bytes was refused and removed the object we counted on.
            raise ApiError(
                code="upload_conflict",
                message="Another upload of the same file failed at the same moment; try again.",
                status_code=status.HTTP_409_CONFLICT,
            )
        try:
            with transaction.atomic():
                evidence = Evidence.objects.create(
                    tenant=tenant,
                    sha256=upload.sha256,
                    key=key,
                    name=evidence_sanitize_name(upload.name or ""),
                    size=upload.size,
                    content_type=content_type,
                    kind=kind,
                    project=project,
                    uploaded_by=uploaded_by,
                    uploaded_by_key=api_key,
                    text_status=Evidence.TextStatus.PENDING
                    if has_text(content_type)
                    else Evidence.TextStatus.NOT_APPLICABLE,
                )
        except IntegrityError:  # a writer that does not take the tenant lock got there first
            if own_object:
                default_storage.delete(key)
            existing = Evidence.objects.for_tenant(tenant).get(sha256=upload.sha256)
            return StoredEvidence(evidence=existing, duplicate=True)
        if evidence.text_status == Evidence.TextStatus.PENDING:
            # Committed with the row and dispatched after the commit, so no upload is left
            # without its extraction; the platform's own follow-up, not counted against quota.
            job_create(
                tenant=tenant,
                kind="extract_evidence_text",
                input={"evidence": str(evidence.id)},
                project=project,
                created_by=uploaded_by,
                count_usage=False,
            )
        # robust: live delivery is best effort and never undoes a committed upload.
        transaction.on_commit(lambda: _announce(evidence), robust=True)
    return StoredEvidence(evidence=evidence, duplicate=False)


def evidence_store_file(
    *,
    tenant: Tenant,
    fileobj: IO[bytes],
    name: str,
    kind: str = Evidence.Kind.OTHER,
    project: Project | None = None,
    uploaded_by: User | None = None,
    api_key: ApiKey | None = None,
) -> StoredEvidence:
    """`evidence_store` for any file: a SpooledUpload (from the streaming upload handler) as it
    is, anything else (jobs, commands, the admin) spooled first, with the same size limit."""
    if isinstance(fileobj, SpooledUpload):
        return evidence_store(
            tenant=tenant,
            upload=fileobj,
            kind=kind,
            project=project,
            uploaded_by=uploaded_by,
            api_key=api_key,
        )
    upload = spool_fileobj(fileobj, name=name, tenant_id=tenant.pk)
    try:
        return evidence_store(
            tenant=tenant,
            upload=upload,
            kind=kind,
            project=project,
            uploaded_by=uploaded_by,
            api_key=api_key,
        )
    finally:
        upload.close()


def evidence_discard(*, evidence: Evidence) -> None:
    """Remove a document stored moments ago for an operation that then could not start (an
    import refused before its job existed): its row and its object, under the tenant lock as
    uploads decide whether to reuse an object. The month's upload counter keeps its bytes."""
    with transaction.atomic():
        _lock_tenant(evidence.tenant)
        Evidence.objects.filter(pk=evidence.pk).delete()
        default_storage.delete(evidence.key)


def _announce(evidence: Evidence) -> None:
    topics = [topic_for("tenant", evidence.tenant_id)]
    if evidence.project_id is not None:
        topics.append(topic_for("project", evidence.project_id))
    publish(
        Event(
            type="evidence.uploaded",
            tenant_id=evidence.tenant_id,
            data={
                "id": str(evidence.id),
                "name": evidence.name,
                "sha256": evidence.sha256,
                "size": evidence.size,
                "content_type": evidence.content_type,
                "kind": evidence.kind,
                "project": str(evidence.project_id) if evidence.project_id else None,
            },
            topics=topics,
        )
    )


def evidence_extract_text(*, evidence: Evidence) -> Evidence:
    """Extract the document's text for content search and record how that went. A document that
    cannot be read as its type is marked failed with the reason; this never raises for bad bytes."""
    try:
        text = extract_text(
            key=evidence.key,
            content_type=evidence.content_type,
            limit=settings.EVIDENCE_TEXT_MAX_CHARS,
        )
    except FileNotFoundError:
        evidence.text, evidence.text_status = "", Evidence.TextStatus.FAILED
        evidence.text_error = "The stored object is missing."
    except ExtractionFailed as exc:
        evidence.text, evidence.text_status = "", Evidence.TextStatus.FAILED
        evidence.text_error = str(exc)[:500]
    else:
        evidence.text = text or ""
        evidence.text_status = (
            Evidence.TextStatus.NOT_APPLICABLE if text is None else Evidence.TextStatus.EXTRACTED
        )
        evidence.text_error = ""
    evidence.save(update_fields=["text", "text_status", "text_error"])
    return evidence


def evidence_download_link(
    *,
    evidence: Evidence,
    user: User | None = None,
    api_key: ApiKey | None = None,
    ip_address: str | None = None,
) -> str:
    """Log the download and return a link that works for EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS:
    presigned on S3, a signed Django URL (a path) on local storage."""
    EvidenceDownload.objects.create(
        tenant_id=evidence.tenant_id,
        evidence=evidence,
        user=user,
        api_key=api_key,
        ip_address=ip_address,
    )
    expires = settings.EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS
    if storage.is_s3():
        return storage.presigned_url(
            evidence.key,
            content_disposition=content_disposition_header(True, evidence.name),
            content_type=evidence.content_type,
            expires=expires,
        )
    token = signing.dumps(
        {"tenant": str(evidence.tenant_id), "evidence": str(evidence.id)},
        salt=DOWNLOAD_TOKEN_SALT,
    )
    return reverse("evidence-file", args=[token])


@dataclass(frozen=True)
class IntegrityResult:
    evidence_id: uuid.UUID
    tenant_id: uuid.UUID
    key: str
    status: str  # "ok", "missing" or "corrupt"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def evidence_verify(*, evidence: Evidence) -> IntegrityResult:
    """Re-hash the stored object (streamed) and compare it with the recorded hash and size."""
    hasher = hashlib.sha256()
    size = 0
    result: dict[str, Any] = {
        "evidence_id": evidence.id,
        "tenant_id": evidence.tenant_id,
        "key": evidence.key,
    }
    try:
        for chunk in storage.iter_object(evidence.key):
            hasher.update(chunk)
            size += len(chunk)
    except FileNotFoundError:
        return IntegrityResult(**result, status="missing", detail="no object in storage")
    if size != evidence.size or hasher.hexdigest() != evidence.sha256:
        return IntegrityResult(
            **result,
            status="corrupt",
            detail=f"stored {size} bytes with SHA-256 {hasher.hexdigest()}; "
            f"expected {evidence.size} bytes with SHA-256 {evidence.sha256}",
        )
    return IntegrityResult(**result, status="ok")


def evidence_verify_all(*, tenant: Tenant | None = None) -> Iterator[IntegrityResult]:
    """`evidence_verify` for every document, or every document of one tenant."""
    queryset = Evidence.objects.all() if tenant is None else Evidence.objects.for_tenant(tenant)
    queryset = queryset.only("id", "tenant_id", "key", "sha256", "size").order_by("tenant", "id")
    for evidence in queryset.iterator(chunk_size=500):
        yield evidence_verify(evidence=evidence)


def evidence_purge_abandoned_uploads(*, older_than: timedelta) -> int:
    """Remove what interrupted uploads left behind before `older_than` ago: spool files of killed
    requests, unfinished S3 multipart uploads, and stored objects that no evidence row names
    (a process that died between storing and committing). Returns how many were removed."""
    cutoff = timezone.now() - older_than
    removed = 0
    spool_dir = settings.EVIDENCE_SPOOL_DIR
    if spool_dir.exists():
        for path in spool_dir.glob(f"{SPOOL_PREFIX}*"):
            try:
                if path.stat().st_mtime < cutoff.timestamp():
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # its request finished meanwhile
                continue
    removed += storage.abort_multipart_uploads(prefix="tenants/", started_before=cutoff)
    batch: list[tuple[str, str]] = []
    for stored in storage.iter_stored_objects("tenants/"):
        match = _STORED_KEY.fullmatch(stored.name)
        if match is None or stored.modified_at >= cutoff:
            continue
        batch.append((match["tenant"], stored.name))
        if len(batch) >= 500:
            removed += _delete_orphans(batch)
            batch = []
    return removed + _delete_orphans(batch)


def _delete_orphans(candidates: list[tuple[str, str]]) -> int:
    removed = 0
    by_tenant: dict[str, list[str]] = {}
    for tenant_id, name in candidates:
        by_tenant.setdefault(tenant_id, []).append(name)
    for tenant_id, objects in by_tenant.items():
        kept = set(
            Evidence.objects.filter(tenant_id=tenant_id, key__in=objects).values_list(
                "key", flat=True
            )
        )
        for name in objects:
            if name in kept:
                continue
            # Under the tenant lock, as uploads decide whether to reuse an existing object.
            with transaction.atomic():
                Tenant.objects.select_for_update().filter(pk=tenant_id).first()
                if not Evidence.objects.filter(tenant_id=tenant_id, key=name).exists():
                    default_storage.delete(name)
                    logger.info("removed orphaned evidence object %s", name)
                    removed += 1
    return removed
