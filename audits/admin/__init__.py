"""The audits app's admin: the tenant policies, findings, waivers and reports, and what audits
adds to the project and document pages (running an audit, findings per position with waivers,
attaching documents to positions and findings)."""

from audits.admin import evidence, policies, projects, reports  # noqa: F401 - registers them
