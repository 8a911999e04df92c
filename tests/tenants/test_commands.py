import json
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tenants.models import ApiKey, Membership, Role, Tenant


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def me(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client.get("/api/v1/me")


@pytest.fixture(autouse=True)
def _private_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.mark.django_db
class TestCommands:
    def test_createtenant_with_owner(self):
        run(
            "createtenant",
            "initech",
            "--name",
            "Initech",
            "--plan",
            "team",
            "--owner-email",
            "p@i.example",
        )
        tenant = Tenant.objects.get(slug="initech")
        assert (tenant.name, tenant.plan) == ("Initech", "team")
        membership = Membership.objects.get(tenant=tenant)
        assert (membership.user.email, membership.role) == ("p@i.example", Role.OWNER)

    def test_createtenant_twice_is_a_clear_error(self):
        run("createtenant", "initech", "--name", "Initech")
        with pytest.raises(CommandError, match="exists already"):
            run("createtenant", "initech", "--name", "Initech")

    def test_createapikey_prints_the_key_alone_on_the_last_line(self, tenant):
        output = run("createapikey", "acme", "--name", "ci", "--role", "viewer")
        key = output.strip().splitlines()[-1]
        assert " " not in key
        response = me(key)
        assert response.status_code == 200
        assert response.json()["role"] == "viewer"

    def test_createapikey_for_an_unknown_tenant(self, db):
        with pytest.raises(CommandError, match="No tenant 'nope'"):
            run("createapikey", "nope", "--name", "ci")

    def test_revokeapikey_by_prefix(self, member):
        assert me(member.secret).status_code == 200
        run("revokeapikey", member.api_key.prefix)
        assert me(member.secret).status_code == 401
        with pytest.raises(CommandError, match="No API key"):
            run("revokeapikey", "0000")

    def test_seed_demo_is_idempotent_and_prints_working_credentials(self, client):
        first = run("seed_demo")
        second = run("seed_demo")
        assert first == second
        assert Tenant.objects.filter(slug="demo").count() == 1
        assert ApiKey.objects.filter(tenant__slug="demo").count() == 1
        key = first.strip().splitlines()[-1].split(": ")[1]
        assert me(key).json()["tenant"]["slug"] == "demo"
        password = json.loads((settings.VAR_DIR / "demo-credentials.json").read_text())[
            "admin_password"
        ]
        assert f"admin / {password}" in first
        assert client.login(username="admin", password=password)
        assert get_user_model().objects.get(username="admin").is_superuser

    def test_seed_demo_replaces_a_revoked_demo_key(self):
        first_key = run("seed_demo").strip().splitlines()[-1].split(": ")[1]
        ApiKey.objects.filter(tenant__slug="demo").update(revoked_at="2026-01-01T00:00:00Z")
        second_key = run("seed_demo").strip().splitlines()[-1].split(": ")[1]
        assert second_key != first_key
        assert me(second_key).status_code == 200
