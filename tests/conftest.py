"""Fixtures every test can use: a tenant with an owner, admin, member and viewer, and an outsider
tenant with its own owner, so any test can check isolation for free."""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tenants.models import ApiKey, Role, Tenant
from tests.factories import MembershipFactory, TenantFactory, make_api_key

# The sample files with known answers live beside the repository (CI clones it next to shared/).
SHARED_DATA = Path(
    os.environ.get("KALKULA_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

# CI sets this for the run on real services: a service that is not configured or not reachable
# fails the run instead of letting tests quietly fall back to the embedded default.
REQUIRE_SERVICES = os.environ.get("KALKULA_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session", autouse=True)
def _required_services(django_db_setup, django_db_blocker):
    if not REQUIRE_SERVICES:
        return
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql", (
        "KALKULA_REQUIRE_SERVICES is set but DATABASE_URL does not point at PostgreSQL"
    )
    assert settings.REDIS_URL, "KALKULA_REQUIRE_SERVICES is set but REDIS_URL is not"
    from django.core.cache import cache

    cache.set("services-check", "ok", 5)
    assert cache.get("services-check") == "ok", "Redis is configured but not answering"


@dataclass
class Actor:
    """Someone calling the API: a role in a tenant, with a ready client authenticated by API key."""

    tenant: Tenant
    role: str
    api_key: ApiKey
    secret: str
    client: APIClient


def _actor(tenant: Tenant, role: str) -> Actor:
    api_key, secret = make_api_key(tenant=tenant, role=role, name=f"{role} key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return Actor(tenant=tenant, role=role, api_key=api_key, secret=secret, client=client)


@pytest.fixture
def tenant(db) -> Tenant:
    return TenantFactory(slug="acme", name="Acme Build")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return TenantFactory(slug="globex", name="Globex Construction")


@pytest.fixture
def owner(tenant) -> Actor:
    return _actor(tenant, Role.OWNER)


@pytest.fixture
def admin(tenant) -> Actor:
    return _actor(tenant, Role.ADMIN)


@pytest.fixture
def member(tenant) -> Actor:
    return _actor(tenant, Role.MEMBER)


@pytest.fixture
def viewer(tenant) -> Actor:
    return _actor(tenant, Role.VIEWER)


@pytest.fixture
def outsider(other_tenant) -> Actor:
    """The owner of another tenant: whatever they ask about `tenant` must be a 404."""
    return _actor(other_tenant, Role.OWNER)


@pytest.fixture
def session_member(tenant):
    """A browser user logged in with a session, member of `tenant`."""
    membership = MembershipFactory(tenant=tenant, role=Role.MEMBER)
    client = APIClient()
    client.force_login(membership.user)
    return membership.user, client


@pytest.fixture
def unused_tcp_port() -> int:
    """A loopback port with nothing listening on it."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
