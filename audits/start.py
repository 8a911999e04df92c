"""Starting an audit: the one service the API, the admin and `manage.py audit_project` share."""

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User

from catalogs.selectors import catalog_get, edition_find
from core.errors import ApiError
from jobs.models import Job
from jobs.services import job_create
from projects.models import Project
from projects.selectors import version_get
from projects.services.projects import project_archived_error
from tenants.models import ApiKey

# `catalog=DEFAULT_CATALOG`: the tenant's most recently updated catalog (None: no catalog at all).
DEFAULT_CATALOG = "default"
# A price index, in percent: prices can fall (not below -90 %) or rise (at most tenfold).
INDEX_RANGE = (Decimal("-90"), Decimal("1000"))


def audit_start(
    *,
    project: Project,
    actor: str,
    version: int | None = None,
    catalog: UUID | str | None = DEFAULT_CATALOG,
    edition: UUID | str | None = None,
    index: Decimal | None = None,
    created_by: User | None = None,
    created_by_key: ApiKey | None = None,
    dispatch: bool = True,
) -> Job:
    """Check that `version` of `project` (the current one when None) can be audited and start the
    audit_project job. Positions are compared with the edition they name, else with `catalog`'s
    newest edition (`catalog`: an id, DEFAULT_CATALOG or None); or, with `edition` (an id or a
    name, of `catalog` when one is named), all with that edition, its prices indexed by `index`
    percent. Errors: the project archived (409), the version unknown (404) or missing (409
    no_version), the catalog or edition another tenant's or unknown (404), a catalog without an
    edition (409 catalog_empty), an index without an edition or out of range (400), another
    import or audit running (409), the monthly job quota (429)."""
    if project.is_archived:
        raise project_archived_error()
    job_input: dict[str, Any] = {"actor": actor}
    if version is not None:
        version_get(tenant=project.tenant, project=project, number=version)
        job_input["version"] = version
    elif project.current_version_id is None:
        raise ApiError(
            code="no_version",
            message="The project has no budget yet: import one first.",
            status_code=409,
        )
    found = None
    if catalog is None:
        job_input["catalog"] = None
    elif catalog != DEFAULT_CATALOG:
        found = catalog_get(tenant=project.tenant, catalog_id=catalog)
        if found.version < 1:
            raise ApiError(
                code="catalog_empty",
                message=f"Catalog {found.name!r} has no imported edition yet.",
                status_code=409,
            )
        job_input["catalog"] = str(found.id)
    if edition is not None:
        if catalog is None:
            raise ApiError(
                code="invalid",
                message="edition: an audit without a catalog compares with no edition.",
                details={"edition": ["not with catalog null"]},
            )
        chosen = edition_find(tenant=project.tenant, edition=edition, catalog=found)
        job_input["edition"] = str(chosen.id)
    if index is not None:
        if edition is None:
            raise ApiError(
                code="invalid",
                message="index: a price index applies to a chosen edition; name the edition.",
                details={"index": ["needs an edition"]},
            )
        if not INDEX_RANGE[0] <= index <= INDEX_RANGE[1]:
            raise ApiError(
                code="invalid",
                message=f"index: a percentage from {INDEX_RANGE[0]} to {INDEX_RANGE[1]}.",
                details={"index": ["out of range"]},
            )
        job_input["index"] = str(index)
    return job_create(
        tenant=project.tenant,
        kind="audit_project",
        input=job_input,
        project=project,
        created_by=created_by,
        created_by_key=created_by_key,
        dispatch=dispatch,
    )
