"""The projects app's admin: projects and their pages (versions, diffs, exports, comments),
versions, positions and comments."""

from projects.admin import positions, projects  # noqa: F401 - registers the ModelAdmins
from projects.admin.filters import (
    CodeGroupFilter,
    ProjectFilter,
    SectionFilter,
    VersionFilter,
    selected_project,
)
from projects.admin.positions import PositionAdmin, positions_url
from projects.admin.projects import ProjectAdmin

__all__ = [
    "CodeGroupFilter",
    "PositionAdmin",
    "ProjectAdmin",
    "ProjectFilter",
    "SectionFilter",
    "VersionFilter",
    "positions_url",
    "selected_project",
]
