"""Project discussion."""

from django.contrib.auth.models import User
from django.db import transaction

from jobs.events import Event, publish, topic_for
from projects.models import Comment, Project
from projects.selectors import position_line_keys
from projects.services.projects import project_archived_error


def comment_create(
    *,
    project: Project,
    body: str,
    positions: list[str] | None = None,
    created_by: User | None = None,
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
        line_keys=position_line_keys(project=project, references=positions or []),
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
