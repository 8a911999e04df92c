from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import ApiKey, Role
from tenants.services import api_key_authenticate, api_key_create, api_key_revoke, hash_key


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

    def test_last_used_is_written_at_most_once_per_window(self, tenant, django_assert_num_queries):
        issued = api_key_create(tenant=tenant, name="ci")
        api_key_authenticate(raw_key=issued.secret)
        first = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
        assert first is not None
        with django_assert_num_queries(1):  # the lookup only: no write
            api_key_authenticate(raw_key=issued.secret)
        assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at == first

        ApiKey.objects.filter(pk=issued.api_key.pk).update(
            last_used_at=timezone.now() - timedelta(minutes=5)
        )
        api_key_authenticate(raw_key=issued.secret)
        assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at > first


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
