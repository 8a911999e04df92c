import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.caches import active_api_keys
from tenants.models import ApiKey, Role, Tenant
from tenants.services import api_key_authenticate, api_key_create, api_key_revoke, hash_key
from tests import servers
from tests.processes import process_env


def client_with(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.mark.django_db
class TestApiKeyService:
    def test_it_stores_only_the_hash_and_a_public_prefix(self, tenant):
        issued = api_key_create(tenant=tenant, name="ci", role=Role.MEMBER)
        stored = ApiKey.objects.get(pk=issued.api_key.pk)
        assert issued.secret not in {stored.hashed_key, stored.prefix, stored.name}
        assert stored.hashed_key == hash_key(issued.secret)
        assert issued.secret.startswith(f"kk_{stored.prefix}_")
        # 32 random bytes in URL-safe base64 are 43 characters
        assert len(issued.secret.split("_", 2)[2]) >= 43

    def test_keys_are_unique(self, tenant):
        secrets = {api_key_create(tenant=tenant, name=f"k{i}").secret for i in range(20)}
        assert len(secrets) == 20

    def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(self, tenant):
        issued = api_key_create(tenant=tenant, name="ci")
        forged = issued.secret[:-4] + "AAAA"
        assert api_key_authenticate(raw_key=forged) is None
        assert api_key_authenticate(raw_key=issued.secret) == issued.api_key

    def test_last_used_is_written_at_most_once_per_window(self, tenant, settings):
        issued = api_key_create(tenant=tenant, name="ci")
        api_key_authenticate(raw_key=issued.secret)
        first = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
        assert first is not None
        api_key_authenticate(raw_key=issued.secret)
        assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at == first

        settings.API_KEY_LAST_USED_RESOLUTION = timedelta(0)  # as if the window had passed
        api_key_authenticate(raw_key=issued.secret)
        assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at > first


# Committing tests: on PostgreSQL a connection starts listening for changes outside a transaction.
@pytest.mark.django_db(transaction=True)
class TestApiKeyCache:
    """A server process keeps an active key until it changes (or API_CACHE_SECONDS pass)."""

    def test_a_used_key_is_not_read_again(self, tenant, django_assert_num_queries):
        issued = api_key_create(tenant=tenant, name="ci")
        api_key_authenticate(raw_key=issued.secret)
        with django_assert_num_queries(0):
            assert api_key_authenticate(raw_key=issued.secret) == issued.api_key

    def test_the_secret_is_checked_on_every_request(self, tenant):
        issued = api_key_create(tenant=tenant, name="ci")
        api_key_authenticate(raw_key=issued.secret)
        assert api_key_authenticate(raw_key=issued.secret[:-4] + "AAAA") is None

    def test_zero_seconds_reads_the_key_every_time(
        self, tenant, settings, django_assert_num_queries
    ):
        settings.API_CACHE_SECONDS = 0
        issued = api_key_create(tenant=tenant, name="ci")
        api_key_authenticate(raw_key=issued.secret)
        with django_assert_num_queries(1):
            api_key_authenticate(raw_key=issued.secret)

    def test_a_write_that_bypasses_the_signals_is_seen_when_the_entry_expires(
        self, tenant, settings
    ):
        settings.API_CACHE_SECONDS = 1
        issued = api_key_create(tenant=tenant, name="ci")
        api_key_authenticate(raw_key=issued.secret)
        ApiKey.objects.filter(pk=issued.api_key.pk).update(revoked_at=timezone.now())
        assert api_key_authenticate(raw_key=issued.secret) is not None
        time.sleep(1.05)
        assert api_key_authenticate(raw_key=issued.secret) is None

    def test_what_a_request_changes_on_its_key_stays_in_the_request(self, tenant):
        issued = api_key_create(tenant=tenant, name="ci")
        mine = api_key_authenticate(raw_key=issued.secret)
        mine.role = Role.OWNER
        mine.tenant.name = "changed"
        again = api_key_authenticate(raw_key=issued.secret)
        assert (again.role, again.tenant.name) == (issued.api_key.role, tenant.name)

    def test_a_key_cached_by_another_thread_before_its_revocation_commits_is_dropped(self, tenant):
        issued = api_key_create(tenant=tenant, name="ci")
        api_key_authenticate(raw_key=issued.secret)  # in use: last_used_at is fresh

        def another_request() -> None:
            connection.ensure_connection()  # a serving thread's connection is open
            try:
                # Reads the committed row, still active, and caches it.
                assert api_key_authenticate(raw_key=issued.secret) is not None
            finally:
                connection.close()

        with transaction.atomic():
            api_key_revoke(api_key=issued.api_key)
            thread = threading.Thread(target=another_request)
            thread.start()
            thread.join()
            assert active_api_keys.get(issued.api_key.prefix) is not None
        assert api_key_authenticate(raw_key=issued.secret) is None

    def test_a_saved_role_is_used_on_the_next_request(self, member):
        assert member.client.get("/api/v1/me").json()["role"] == "member"
        member.api_key.role = Role.VIEWER
        member.api_key.save(update_fields=["role"])
        assert member.client.get("/api/v1/me").json()["role"] == "viewer"

    def test_a_suspended_tenant_is_refused_on_the_next_request(self, member):
        assert member.client.get("/api/v1/me").status_code == 200
        member.tenant.status = Tenant.Status.SUSPENDED
        member.tenant.save(update_fields=["status"])
        response = member.client.get("/api/v1/me")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "tenant_suspended"

    def test_a_deleted_key_is_refused_on_the_next_request(self, member):
        assert member.client.get("/api/v1/me").status_code == 200
        ApiKey.objects.get(pk=member.api_key.pk).delete()
        assert member.client.get("/api/v1/me").status_code == 401


@pytest.mark.django_db
class TestApiKeyAuthentication:
    def test_revocation_takes_effect_on_the_very_next_request(self, member):
        assert member.client.get("/api/v1/me").status_code == 200
        api_key_revoke(api_key=member.api_key)
        response = member.client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"

    @pytest.mark.parametrize(
        "header",
        ["Api-Key kk_nothere_secret", "Api-Key ", "Api-Key garbage", "Api-Key kk_a_b_c"],
    )
    def test_unknown_or_malformed_keys_are_401_with_a_code(self, db, header):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"

    def test_no_credentials_is_401(self, db):
        response = APIClient().get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
        assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.django_db
class TestApiKeyEndpoints:
    def test_admin_creates_a_key_shown_once(self, admin):
        response = admin.client.post(
            "/api/v1/api-keys/", {"name": "ci", "role": "viewer"}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        assert body["role"] == "viewer"
        assert client_with(body["key"]).get("/api/v1/me").json()["role"] == "viewer"

        listed = admin.client.get("/api/v1/api-keys/").json()["results"]
        assert {k["id"] for k in listed} >= {body["id"]}
        assert all("key" not in k and "hashed_key" not in k for k in listed)
        detail = admin.client.get(f"/api/v1/api-keys/{body['id']}/").json()
        assert "key" not in detail

    def test_admin_revokes_a_key(self, admin, member):
        response = admin.client.delete(f"/api/v1/api-keys/{member.api_key.id}/")
        assert response.status_code == 204
        assert member.client.get("/api/v1/me").status_code == 401

    @pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
    def test_members_and_viewers_cannot_manage_keys(self, tenant, role, request):
        actor = request.getfixturevalue(role)
        assert actor.client.get("/api/v1/api-keys/").status_code == 403
        response = actor.client.post("/api/v1/api-keys/", {"name": "x"}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"

    def test_an_admin_cannot_mint_an_owner_key(self, admin):
        response = admin.client.post(
            "/api/v1/api-keys/", {"name": "x", "role": "owner"}, format="json"
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"

    def test_another_tenants_key_is_404(self, admin, outsider):
        assert admin.client.get(f"/api/v1/api-keys/{outsider.api_key.id}/").status_code == 404
        assert admin.client.delete(f"/api/v1/api-keys/{outsider.api_key.id}/").status_code == 404
        outsider.api_key.refresh_from_db()
        assert outsider.api_key.revoked_at is None

    def test_invalid_input_names_the_field(self, admin):
        response = admin.client.post("/api/v1/api-keys/", {"role": "wizard"}, format="json")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert set(error["details"]) == {"name", "role"}
        assert "name: This field is required." in error["message"]


@pytest.mark.django_db(transaction=True)
def test_a_revocation_by_another_process_is_refused_on_the_very_next_request(tenant):
    issued = api_key_create(tenant=tenant, name="ci")
    assert api_key_authenticate(raw_key=issued.secret) is not None
    assert api_key_authenticate(raw_key=issued.secret) is not None  # now from the cache
    servers.manage(process_env(), "revokeapikey", issued.api_key.prefix)
    assert api_key_authenticate(raw_key=issued.secret) is None


def test_server_processes_refuse_a_revoked_key_on_the_very_next_request(private_postgres):
    """Two gunicorn processes that have each cached the key; an operator revokes it."""
    env = private_postgres.env
    secret = servers.create_tenant_and_key(env, slug=f"revoked-{uuid.uuid4().hex[:8]}")
    headers = {"Authorization": f"Api-Key {secret}"}
    with servers.gunicorn(env) as first, servers.gunicorn(env) as second:
        for server in (first, second, first, second):
            assert requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10).ok
        servers.manage(env, "revokeapikey", secret.split("_")[1])
        for server in (first, second):
            answer = requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10)
            assert answer.status_code == 401
