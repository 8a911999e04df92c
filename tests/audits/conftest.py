"""The budget fixtures (a project, an import helper, the sample catalog) of tests/projects, and an
imported and an audited project (tests/audits/audit_runs.py)."""

import pytest

pytest.register_assert_rewrite("tests.audits.audit_runs")

from tests.audits.audit_runs import audited, imported  # noqa: E402, F401
from tests.projects.conftest import import_file, listen, project, sample_catalog  # noqa: E402, F401
