"""Writes of projects, versions, positions and comments (one module per concept)."""

from projects.services.comments import comment_create
from projects.services.imports import ImportOutcome, budget_import
from projects.services.projects import project_archive, project_create, project_update
from projects.services.versions import position_edit, version_revert

__all__ = [
    "ImportOutcome",
    "budget_import",
    "comment_create",
    "position_edit",
    "project_archive",
    "project_create",
    "project_update",
    "version_revert",
]
