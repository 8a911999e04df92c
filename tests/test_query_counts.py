"""Every API list route, present and future, runs as many queries for 50 rows as for 5."""

import pytest
from django.test import override_settings
from django.urls import clear_url_caches

from tests.query_counts import fill_tenant, probe_query_counts


@pytest.mark.django_db
def test_no_list_route_runs_a_query_per_row(tenant, owner):
    failures, checked = probe_query_counts(client=owner.client, filled=fill_tenant(tenant))
    assert failures == [], "\n".join(failures)
    # The probe really saw the lists (a new list route joins them by itself).
    assert {
        "api/v1/projects/",
        "api/v1/projects/<uuid:project_id>/versions/",
        "api/v1/projects/<uuid:project_id>/positions/",
        "api/v1/projects/<uuid:project_id>/diff/",
        "api/v1/projects/<uuid:project_id>/findings/",
        "api/v1/projects/<uuid:project_id>/comments/",
        "api/v1/jobs/",
        "api/v1/evidence/",
        "api/v1/catalogs/",
        "api/v1/catalogs/<uuid:catalog_id>/items/",
        "api/v1/catalogs/<uuid:catalog_id>/editions/",
        "api/v1/catalogs/<uuid:catalog_id>/diff/",
        "api/v1/alerts/",
    } <= set(checked)


@pytest.fixture
def n_plus_one_urlconf():
    clear_url_caches()
    with override_settings(ROOT_URLCONF="tests.n_plus_one_urls"):
        yield
    clear_url_caches()


@pytest.mark.django_db
def test_the_probe_catches_a_query_per_row(tenant, owner, n_plus_one_urlconf):
    failures, _ = probe_query_counts(client=owner.client, filled=fill_tenant(tenant))
    assert [f.split(": ", 1)[0] for f in failures] == ["/api/v1/n-plus-one/"]
