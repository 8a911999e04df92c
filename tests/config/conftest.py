"""The budget fixtures (a project, an import helper) of tests/projects, for the outage tests."""

from tests.projects.conftest import import_file, project  # noqa: F401
