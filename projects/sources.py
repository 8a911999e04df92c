"""Where an import's file is kept between the request and the job.

Either a document the tenant already keeps as evidence, named in the job input as
`{"evidence": "<id>", "filename"}`, or a file uploaded with the import request and kept in
`default_storage` under `tenants/<tenant id>/imports/<uuid>/<safe name>`, named as
`{"path", "filename"}`.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import IO, Any, BinaryIO

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename

from core.errors import ApiError
from evidence.selectors import evidence_get
from jobs.models import Job
from jobs.services import job_create
from projects.importers import ImportFailed
from tenants.models import Tenant


def _prefix(tenant: Tenant) -> str:
    return f"tenants/{tenant.id}/imports/"


def import_source_save(*, tenant: Tenant, file: IO[bytes], filename: str) -> dict[str, str]:
    """Store an uploaded file; returns the job input that names it."""
    safe_name = get_valid_filename(PurePath(filename.replace("\\", "/")).name) or "budget"
    path = default_storage.save(f"{_prefix(tenant)}{uuid.uuid4()}/{safe_name}", File(file))
    return {"path": path, "filename": PurePath(filename.replace("\\", "/")).name or safe_name}


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
) -> Job:
    """Keep the uploaded `file` (or name the tenant's document `evidence_id`) and start the import
    job `kind` on it. A job that cannot start (another import or audit of the project is running,
    the monthly quota) raises its error and leaves no file behind."""
    if evidence_id is not None:
        source = import_source_from_evidence(tenant=tenant, evidence_id=evidence_id)
    else:
        if file is None:
            raise ValueError("an import needs a file or a document")
        source = import_source_save(tenant=tenant, file=file, filename=filename)
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
        if "path" in source:
            default_storage.delete(source["path"])
        raise
