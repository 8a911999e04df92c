"""Suspending a tenant from the command line, and who may revoke which key (issue 20)."""

import pytest
from django.core.management import CommandError, call_command

from tenants.models import Tenant

pytestmark = pytest.mark.django_db


class TestSuspendAndResume:
    def test_a_suspended_tenant_is_refused_and_resumed_it_works_again(self, tenant, member):
        assert member.client.get("/api/v1/me").status_code == 200
        call_command("suspendtenant", tenant.slug)
        tenant.refresh_from_db()
        assert tenant.status == Tenant.Status.SUSPENDED
        response = member.client.get("/api/v1/me")
        assert (response.status_code, response.json()["error"]["code"]) == (
            403,
            "tenant_suspended",
        )
        call_command("resumetenant", tenant.slug)
        assert member.client.get("/api/v1/me").status_code == 200

    def test_an_unknown_tenant(self):
        with pytest.raises(CommandError, match="No tenant 'nope'"):
            call_command("suspendtenant", "nope")


class TestRevokingKeys:
    def test_an_admin_cannot_revoke_an_owners_key(self, admin, owner):
        response = admin.client.delete(f"/api/v1/api-keys/{owner.api_key.id}/")
        assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
        owner.api_key.refresh_from_db()
        assert owner.api_key.revoked_at is None
        assert owner.client.get("/api/v1/me").status_code == 200

    def test_an_admin_revokes_a_members_key_and_an_owner_an_admins(self, admin, owner, member):
        assert admin.client.delete(f"/api/v1/api-keys/{member.api_key.id}/").status_code == 204
        assert owner.client.delete(f"/api/v1/api-keys/{admin.api_key.id}/").status_code == 204
