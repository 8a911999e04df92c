"""The audits app's admin: the tenant policies, findings, waivers and reports, and what audits
adds to the project pages (running an audit, findings per position with waivers)."""

from audits.admin import policies, reports  # noqa: F401 - registers the ModelAdmins
