import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tenants.models import ApiKey, Role
from tests.factories import MembershipFactory


@pytest.fixture
def superuser_client(client, db):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.login(username="root", password="pw-for-tests-only")
    return client


@pytest.fixture
def tenant_admin_client(client, tenant):
    """A staff user who administers `tenant` only."""
    membership = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    user = membership.user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="tenants"))
    client.force_login(user)
    return client


@pytest.mark.django_db
class TestApiKeyAdmin:
    def test_creating_a_key_shows_it_once_and_it_works(self, superuser_client, tenant):
        response = superuser_client.post(
            "/admin/tenants/apikey/add/",
            {"tenant": tenant.pk, "name": "from admin", "role": "viewer"},
            follow=True,
        )
        assert response.status_code == 200
        shown = re.search(r"The new API key is (kk_\S+)", response.content.decode())
        assert shown, "the key is shown after creation"
        key = shown.group(1)
        api_key = ApiKey.objects.get(name="from admin")
        assert api_key.role == "viewer"

        page = superuser_client.get(f"/admin/tenants/apikey/{api_key.pk}/change/").content.decode()
        assert key not in page and api_key.hashed_key not in page

    def test_revoke_action(self, superuser_client, member):
        superuser_client.post(
            "/admin/tenants/apikey/",
            {"action": "revoke", "_selected_action": [member.api_key.pk]},
        )
        assert member.client.get("/api/v1/me").status_code == 401

    def test_a_tenant_admin_sees_only_their_tenants_keys(
        self, tenant_admin_client, member, outsider
    ):
        listing = tenant_admin_client.get("/admin/tenants/apikey/").content.decode()
        assert member.api_key.prefix in listing
        assert outsider.api_key.prefix not in listing
        other = tenant_admin_client.get(f"/admin/tenants/apikey/{outsider.api_key.pk}/change/")
        assert other.status_code == 302  # Django's admin redirects a missing object to the index
        assert ApiKey.objects.get(pk=outsider.api_key.pk).name == outsider.api_key.name

    def test_a_tenant_admin_cannot_open_another_tenant(
        self, tenant_admin_client, tenant, other_tenant
    ):
        assert (
            tenant_admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").status_code == 200
        )
        response = tenant_admin_client.get(f"/admin/tenants/tenant/{other_tenant.pk}/change/")
        assert response.status_code == 302
        listing = tenant_admin_client.get("/admin/tenants/tenant/").content.decode()
        assert "globex" not in listing

    def test_a_tenant_admin_cannot_create_keys_for_another_tenant(
        self, tenant_admin_client, other_tenant
    ):
        response = tenant_admin_client.post(
            "/admin/tenants/apikey/add/", {"tenant": other_tenant.pk, "name": "x", "role": "owner"}
        )
        assert response.status_code == 200  # the form comes back with an error
        assert "Select a valid choice" in response.content.decode()
        assert not ApiKey.objects.filter(tenant=other_tenant, name="x").exists()
