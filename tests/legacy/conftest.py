"""The budget fixtures (a project, an import helper, the sample catalog) of tests/projects."""

from tests.projects.conftest import import_file, listen, project, sample_catalog  # noqa: F401
