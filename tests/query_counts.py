"""The query-count probe: every API list route, present and future, asked for a page of 5 and a
page of 50 rows, must run the same number of queries (no query per row: N+1).

It fills a tenant with more than 50 rows of every list, sharing one project, version, job,
document and catalog, calls every GET route of the API whose answer is a page
(`{"results": [...]}`), and reports routes whose count grows with the page, and list routes it
could not fill with enough rows (teach it the route's query parameters in QUERY).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from projects.models import Project
from tenants.models import Tenant
from tests import factories as f
from tests.isolation import api_routes

ROWS = 55
SMALL, LARGE = 5, 50
# Query parameters a list route needs to list anything, and its page size parameter where it is
# not `page_size`.
QUERY = {
    "api/v1/projects/<uuid:project_id>/diff/": "from=1&to=2",
    "api/v1/catalogs/<uuid:catalog_id>/diff/": "from=1&to=2",
}
SIZE_PARAMETER = {
    "api/v1/projects/<uuid:project_id>/diff/": "limit",
}


@dataclass
class Filled:
    project: Project
    values: dict[str, str]  # path parameter → value


def fill_tenant(tenant: Tenant) -> Filled:
    """More than LARGE rows of every list the API has, around one project."""
    project = f.ProjectFactory(tenant=tenant, name="Lists")
    versions = [f.BudgetVersionFactory(tenant=tenant, project=project, number=1)]
    for number in range(2, ROWS + 1):
        versions.append(
            f.BudgetVersionFactory(
                tenant=tenant, project=project, number=number, parent=versions[-1]
            )
        )
    current = versions[-1]
    Project.objects.filter(pk=project.pk).update(current_version=current)
    positions = [
        f.PositionFactory(tenant=tenant, project=project, valid_from=1, valid_to=2)
        for _ in range(ROWS)
    ]
    for position in positions:  # each changed in version 2: the diff lists them all
        f.PositionFactory(
            tenant=tenant,
            project=project,
            valid_from=2,
            position_number=position.position_number,
            line_key=position.line_key,
            quantity=Decimal("11"),
        )
        f.FindingFactory(tenant=tenant, project=project, version=current, position=position)
        f.WaiverFactory(tenant=tenant, project=project, version=current, line_key=position.line_key)
    job = f.JobFactory(tenant=tenant, project=project)
    evidence = f.EvidenceFactory(tenant=tenant, project=project)
    catalog = f.PriceCatalogFactory(tenant=tenant)
    report = None
    for n in range(ROWS):
        f.CommentFactory(tenant=tenant, project=project)
        f.JobFactory(tenant=tenant, project=project)
        f.JobEventFactory(tenant=tenant, job=job, seq=n + 1)
        f.EvidenceFactory(tenant=tenant, project=project)
        f.AttachmentFactory(tenant=tenant, evidence=evidence, project=project, line_key=str(n))
        f.CatalogItemFactory(tenant=tenant, catalog=catalog)  # in edition 1: all removed in 2
        f.CatalogEditionFactory(tenant=tenant, catalog=catalog, number=n + 2)
        f.AlertFactory(tenant=tenant, project=project, catalog=catalog)
        f.ProjectFactory(tenant=tenant)
        f.PriceCatalogFactory(tenant=tenant)
        f.ApiKeyFactory(tenant=tenant)
        f.RequestLogFactory(tenant=tenant)
        report = f.AuditReportFactory(tenant=tenant, project=project, version=current, number=n + 1)
    assert report is not None
    return Filled(
        project=project,
        values={
            "project_id": str(project.id),
            "job_id": str(job.id),
            "evidence_id": str(evidence.id),
            "catalog_id": str(catalog.id),
            "report_id": str(report.id),
        },
    )


def _url(template: str, values: dict[str, str]) -> str | None:
    url = template
    for name, value in values.items():
        for converter in ("uuid", "str"):
            url = url.replace(f"<{converter}:{name}>", value)
    return None if "<" in url else "/" + url


def _page(client: APIClient, url: str, query: str) -> tuple[int, int | None, int]:
    """(status, rows on the page or None when not a page, queries run)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{url}?{query}")
    is_json = response.get("Content-Type", "").startswith("application/json")
    body = response.json() if response.status_code == 200 and is_json else {}
    rows = None
    if isinstance(body, dict):
        for key in ("results", "added", "modified"):
            if isinstance(body.get(key), list):
                rows = max(rows or 0, len(body[key]))
    return response.status_code, rows, len(queries)


def probe_query_counts(*, client: APIClient, filled: Filled) -> tuple[list[str], list[str]]:
    """(failures, the list routes checked)."""
    failures: list[str] = []
    checked: list[str] = []
    for route in api_routes():
        if route.view_class is None or not hasattr(route.view_class, "get"):
            continue
        url = _url(route.template, filled.values)
        if url is None:
            continue  # a detail route (`<uuid:pk>`) or one of an object this probe does not keep
        query = f"{QUERY[route.template]}&" if route.template in QUERY else ""
        size = SIZE_PARAMETER.get(route.template, "page_size")
        small_status, small_rows, small_queries = _page(client, url, f"{query}{size}={SMALL}")
        if small_rows is None:
            continue  # not a list
        large_status, large_rows, large_queries = _page(client, url, f"{query}{size}={LARGE}")
        checked.append(route.template)
        if (small_status, large_status) != (200, 200):
            failures.append(f"{url}: {small_status}/{large_status}")
        elif small_rows != SMALL or large_rows != LARGE:
            failures.append(
                f"{url}: {small_rows} and {large_rows} rows, not {SMALL} and {LARGE}: fill it"
            )
        elif small_queries != large_queries:
            failures.append(
                f"{url}: {small_queries} queries for {SMALL} rows, {large_queries} for {LARGE}"
            )
    return failures, checked
