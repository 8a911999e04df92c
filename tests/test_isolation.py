"""Every API route, present and future, is probed with a second tenant's key."""

import pytest
from django.test import override_settings
from django.urls import clear_url_caches

from tests.factories import TENANT_OWNED_FACTORIES
from tests.isolation import api_routes, make_victim_objects, probe_isolation, tenant_owned_models


def test_every_tenant_owned_model_has_a_factory_for_the_probe():
    missing = [m._meta.label for m in tenant_owned_models() if m not in TENANT_OWNED_FACTORIES]
    assert missing == [], f"add factories to TENANT_OWNED_FACTORIES for {missing}"


def test_the_probe_sees_the_api_routes():
    templates = {route.template for route in api_routes()}
    assert {"api/v1/me", "api/v1/api-keys/", "api/v1/api-keys/<uuid:pk>/"} <= templates


@pytest.mark.django_db
def test_no_api_route_reaches_another_tenants_objects(tenant, outsider):
    objects = make_victim_objects(tenant)
    failures = probe_isolation(outsider_client=outsider.client, victim=tenant, objects=objects)
    assert failures == []


@pytest.fixture
def leaky_urlconf():
    clear_url_caches()
    with override_settings(ROOT_URLCONF="tests.leaky_urls"):
        yield
    clear_url_caches()


@pytest.mark.django_db
def test_the_probe_catches_views_that_forget_to_scope(tenant, outsider, leaky_urlconf):
    objects = make_victim_objects(tenant)
    failures = probe_isolation(outsider_client=outsider.client, victim=tenant, objects=objects)
    assert any(
        f.startswith("GET /api/v1/leaky-keys/: shows the other tenant's ids") for f in failures
    )
    assert any("/rename/: 200, expected 404" in f for f in failures)
    assert "the outsider's calls changed the victim's data" in failures
