"""Where an import's file is kept between the request and the job: always a document of the
tenant's evidence, named in the job input as `{"evidence": "<id>", "filename"}`.

A file uploaded with the import request takes the one path every uploaded byte takes (evidence:
the streaming handler's size limit, type sniffing, archive limits, the storage quota) and is kept
as a `budget` or `catalog` document of the tenant, counted in its storage; a failed import leaves
it there, visible. Jobs queued before that named a file under `tenants/<tenant id>/imports/` as
`{"path", "filename"}`: those are still read.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import IO, Any, BinaryIO

from django.core.files.storage import default_storage

from core.errors import ApiError
from evidence.models import Evidence
from evidence.selectors import evidence_get
from evidence.services import StoredEvidence, evidence_discard, evidence_store_file
from jobs.models import Job
from jobs.services import job_create
from projects.importers import ImportFailed
from tenants.models import Tenant


def _prefix(tenant: Tenant) -> str:
    return f"tenants/{tenant.id}/imports/"


def import_source_store(
    *,
    tenant: Tenant,
    file: IO[bytes],
    filename: str,
    kind: str = Evidence.Kind.BUDGET,
    project: Any = None,
    uploaded_by: Any = None,
    api_key: Any = None,
) -> tuple[StoredEvidence, dict[str, str]]:
    """Keep an uploaded file as the tenant's evidence; returns it and the job input naming it."""
    name = PurePath(filename.replace("\\", "/")).name or "budget"
    stored = evidence_store_file(
        tenant=tenant,
        fileobj=file,
        name=name,
        kind=kind,
        project=project,
        uploaded_by=uploaded_by,
        api_key=api_key,
    )
    return stored, {"evidence": str(stored.evidence.id), "filename": name}


def import_source_save(*, tenant: Tenant, file: IO[bytes], filename: str) -> dict[str, str]:
    """Keep an uploaded file as the tenant's evidence; returns the job input that names it."""
    return import_source_store(tenant=tenant, file=file, filename=filename)[1]


def import_source_from_evidence(*, tenant: Tenant, evidence_id: uuid.UUID) -> dict[str, str]:
    """The job input naming one of the tenant's documents; another tenant's is not found (404)."""
    evidence = evidence_get(tenant=tenant, evidence_id=evidence_id)
    if evidence is None:
        raise ApiError(code="not_found", message="evidence: no such document.", status_code=404)
    return {"evidence": str(evidence.id), "filename": evidence.name}


@contextmanager
def import_source_open(*, tenant: Tenant, source: dict) -> Iterator[BinaryIO]:
    """The stored file named by a job input, opened for reading; only the tenant's own files."""
    if source.get("evidence"):
        evidence = evidence_get(tenant=tenant, evidence_id=source["evidence"])
        if evidence is None:
            raise ImportFailed("source_not_found", "The document to import was not found.")
        path = evidence.key
    else:
        path = str(source.get("path", ""))
        if not path.startswith(_prefix(tenant)) or ".." in PurePath(path).parts:
            raise ImportFailed("source_not_found", "The file to import was not found.")
    try:
        stream = default_storage.open(path, "rb")
    except FileNotFoundError:
        raise ImportFailed("source_not_found", "The file to import was not found.") from None
    with stream:
        yield stream  # type: ignore[misc]  # a File opened "rb" is a binary stream


def import_job_start(
    *,
    tenant: Tenant,
    kind: str,
    input: dict[str, Any],
    file: IO[bytes] | None = None,
    filename: str = "",
    evidence_id: uuid.UUID | None = None,
    project: Any = None,
    created_by: Any = None,
    created_by_key: Any = None,
    dispatch: bool = True,
    evidence_kind: str = Evidence.Kind.BUDGET,
) -> Job:
    """Keep the uploaded `file` as evidence of `evidence_kind` (or name the tenant's document
    `evidence_id`) and start the import job `kind` on it. A job that cannot start (another import
    or audit of the project is running, the monthly quota) raises its error and leaves no new
    document behind."""
    stored = None
    if evidence_id is not None:
        source = import_source_from_evidence(tenant=tenant, evidence_id=evidence_id)
    else:
        if file is None:
            raise ValueError("an import needs a file or a document")
        stored, source = import_source_store(
            tenant=tenant,
            file=file,
            filename=filename,
            kind=evidence_kind,
            project=project,
            uploaded_by=created_by,
            api_key=created_by_key,
        )
    try:
        return job_create(
            tenant=tenant,
            kind=kind,
            input={**source, **input},
            project=project,
            created_by=created_by,
            created_by_key=created_by_key,
            dispatch=dispatch,
        )
    except Exception:
        if stored is not None and not stored.duplicate:
            evidence_discard(evidence=stored.evidence)
        raise
