"""The admin index is a dashboard of the staff user's tenants, a page of ten at a time, found by
slug or name; a superuser pages through every tenant, tenant-scoped staff through their own."""

import re

import pytest

from config.admin_site import DASHBOARD_TENANTS
from tests.factories import ProjectFactory, TenantFactory

pytestmark = pytest.mark.django_db


def panels(page: str) -> list[str]:
    return re.findall(r'<section class="kk-panel" id="tenant-([\w-]+)"', page)


def test_a_superuser_pages_through_every_tenant(root_client):
    slugs = sorted(f"tenant-{n:02}" for n in range(DASHBOARD_TENANTS + 3))
    for slug in slugs:
        ProjectFactory(tenant=TenantFactory(slug=slug, name=f"Builder {slug}"), name=f"{slug} job")
    first = root_client.get("/admin/").content.decode()
    assert panels(first) == slugs[:DASHBOARD_TENANTS]
    assert f"tenants 1–{DASHBOARD_TENANTS} of {len(slugs)}" in first
    second = root_client.get("/admin/", {"page": 2}).content.decode()
    assert panels(second) == slugs[DASHBOARD_TENANTS:]
    assert "tenant-12 job" in second
    # A page number out of range or not a number shows a page, never an error.
    assert panels(root_client.get("/admin/", {"page": "abc"}).content.decode()) == panels(first)
    assert panels(root_client.get("/admin/", {"page": 99}).content.decode()) == panels(second)
    found = root_client.get("/admin/", {"q": "Builder tenant-07"}).content.decode()
    assert panels(found) == ["tenant-07"]
    nothing = root_client.get("/admin/", {"q": "nobody"}).content.decode()
    assert panels(nothing) == [] and "No tenant matches" in nothing


def test_tenant_scoped_staff_find_only_their_own(tenant_staff_client, tenant, other_tenant):
    page = tenant_staff_client.get("/admin/", {"q": other_tenant.slug}).content.decode()
    assert panels(page) == [] and other_tenant.name not in page
    assert panels(tenant_staff_client.get("/admin/").content.decode()) == [tenant.slug]
