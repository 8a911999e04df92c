"""Projects: create, change, archive (soft delete)."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Case, Value, When
from django.utils import timezone

from core.errors import ApiError
from projects.models import Project
from tenants.models import Tenant

EDITABLE_FIELDS = ("name", "currency")


def _validated(project: Project) -> Project:
    try:
        project.full_clean(exclude=["tenant", "current_version", "created_by"])
    except ValidationError as exc:
        raise ApiError(
            code="invalid", message="; ".join(exc.messages), details=exc.message_dict
        ) from None
    return project


def project_create(
    *, tenant: Tenant, name: str, currency: str = "CZK", created_by: User | None = None
) -> Project:
    project = _validated(
        Project(
            tenant=tenant,
            name=name,
            currency=currency,
            created_by=created_by if getattr(created_by, "pk", None) else None,
        )
    )
    project.save(force_insert=True)
    return project


def project_update(*, project: Project, **changes: str) -> Project:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if project.is_archived:
        raise project_archived_error()
    for name, value in changes.items():
        setattr(project, name, value)
    _validated(project).save(update_fields=[*changes, "updated_at"])
    return project


def project_archive(*, project: Project) -> Project:
    """Hide the project from lists and refuse changes; its data stays until an explicit purge."""
    if not project.is_archived:
        project.status = Project.Status.ARCHIVED
        project.deleted_at = timezone.now()
        project.save(update_fields=["status", "deleted_at", "updated_at"])
    return project


def project_archived_error() -> ApiError:
    return ApiError(
        code="project_archived",
        message="The project is archived: it cannot change.",
        status_code=409,
    )


def project_status_set(*, project: Project, status: str) -> bool:
    """Move a project that is not archived to `status`; False when it is archived."""
    updated = (
        Project.objects.filter(pk=project.pk)
        .exclude(status=Project.Status.ARCHIVED)
        .update(status=status, updated_at=timezone.now())
    )
    if updated:
        project.status = status
    return bool(updated)


def project_status_settle(*, project: Project) -> None:
    """After a failed import or audit: ready when the project has a version, draft when it has
    none."""
    busy = [Project.Status.IMPORTING, Project.Status.AUDITING]
    Project.objects.filter(pk=project.pk, status__in=busy).update(
        status=Case(
            When(current_version__isnull=True, then=Value(Project.Status.DRAFT)),
            default=Value(Project.Status.READY),
        ),
        updated_at=timezone.now(),
    )
    project.refresh_from_db(fields=["status"])
