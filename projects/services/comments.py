"""Project discussion."""

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from config.errors import ApiError
from jobs.events import Event, publish, topic_for
from projects.models import Comment, Position, Project
from projects.services.projects import project_archived_error


def _resolve_line_keys(project: Project, references: list[str]) -> list[str]:
    """Line keys of the positions named by id or line key; 400 naming any that is unknown."""
    ids, keys = [], []
    for reference in references:
        try:
            ids.append(uuid.UUID(str(reference)))
        except ValueError:
            keys.append(str(reference))
    rows = Position.objects.for_tenant(project.tenant).filter(project=project)
    by_id = dict(rows.filter(pk__in=ids).values_list("pk", "line_key")) if ids else {}
    known_keys = (
        set(rows.filter(line_key__in=keys).values_list("line_key", flat=True)) if keys else set()
    )
    unknown = [str(i) for i in ids if i not in by_id] + [k for k in keys if k not in known_keys]
    if unknown:
        raise ApiError(
            code="unknown_positions",
            message=f"No position of this project is {', '.join(map(repr, unknown))}.",
            details={"positions": unknown},
        )
    resolved = [by_id[i] for i in ids] + keys
    return list(dict.fromkeys(resolved))


def comment_create(
    *,
    project: Project,
    body: str,
    positions: list[str] | None = None,
    created_by: AbstractBaseUser | None = None,
    actor: str = "",
) -> Comment:
    """Post a comment, optionally about positions named by id or line key (kept as line keys, so
    the comment follows the position across versions); pushed live as `comment.created`."""
    if project.is_archived:
        raise project_archived_error()
    comment = Comment.objects.create(
        tenant_id=project.tenant_id,
        project=project,
        body=body,
        line_keys=_resolve_line_keys(project, positions or []),
        created_by=created_by if getattr(created_by, "pk", None) else None,
        actor=actor[:200],
    )
    event = Event(
        type="comment.created",
        tenant_id=project.tenant_id,
        data={
            "id": str(comment.id),
            "project": str(project.id),
            "body": comment.body,
            "positions": comment.line_keys,
            "actor": comment.actor,
            "created_at": comment.created_at.isoformat(),
        },
        topics=[topic_for("project", project.id)],
    )
    transaction.on_commit(lambda: publish(event))
    return comment
