"""Every admin changelist runs as many queries for a page of 10 rows as for a page of 2 (no query
per row), with and without counts (facets); the positions list of a big project never counts its
rows (the version's count is cached) and counts facets in one GROUP BY per filter."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.models import Position
from projects.selectors import exact_total
from projects.services.versions import version_create_first
from tests.factories import TENANT_OWNED_FACTORIES, PositionFactory, ProjectFactory

pytestmark = pytest.mark.django_db
ROWS = 12


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com"))
    return client


def queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in captured.captured_queries]


def test_no_changelist_queries_per_row(superuser_client):
    for factory in TENANT_OWNED_FACTORIES.values():
        for _ in range(ROWS):
            factory()  # a tenant each: some models allow one row per tenant
    problems = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for suffix in ("", "?_facets=1"):
            counts = []
            for size in (2, 10):
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(model_admin, "list_per_page", size)
                    counts.append(len(queries(superuser_client, url + suffix)))
            if counts[0] != counts[1]:
                problems.append(
                    f"{url}{suffix}: {counts[0]} queries for 2 rows, {counts[1]} for 10"
                )
    assert problems == []


@pytest.fixture
def big_project(tenant):
    project = ProjectFactory(tenant=tenant, name="Big")
    for i in range(60):
        PositionFactory(
            tenant=tenant,
            project=project,
            section=f"SO {i % 6:02d}",
            code=f"{100 + i % 9}201101",
            position_number=str(i + 1),
            line_key=str(i + 1),
        )
    totals = exact_total(Position.objects.filter(project=project, valid_to__isnull=True))
    version_create_first(project=project, totals=totals, trigger="import")
    return project


def test_a_projects_positions_are_listed_without_counting_them(superuser_client, big_project):
    url = f"/admin/projects/position/?project={big_project.pk}"
    page = superuser_client.get(url).content.decode()
    assert "60 positions" in page
    counted = [q for q in queries(superuser_client, url) if re.search(r"\bCOUNT\(", q)]
    assert counted == []


def test_facet_counts_are_one_grouped_query_per_filter(superuser_client, big_project):
    url = f"/admin/projects/position/?project={big_project.pk}&_facets=1"
    page = superuser_client.get(url).content.decode()
    assert "SO 03 (10)" in page  # the section facet
    assert "102… (7)" in page  # the code group facet
    sql = queries(superuser_client, url)
    # Django's own facets count each choice with a conditional aggregate (a subquery for simple
    # filters): at most the four audit statuses here, in one query.
    assert max(q.count("COUNT(") for q in sql) <= len(Position.AuditStatus.choices) + 1
    assert sum("GROUP BY" in q for q in sql) == 2  # sections, code groups
    many_sections = queries(superuser_client, url + "&code=102")
    assert len(many_sections) == len(sql) + 1  # the filtered list is counted: one more query
