"""Fixtures every test can use: a tenant with an owner, admin, member and viewer, and an outsider
tenant with its own owner, so any test can check isolation for free."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from tenants.models import ApiKey, Role, Tenant
from tenants.request_log import request_log_discard
from tests import servers
from tests.factories import MembershipFactory, TenantFactory, make_api_key
from tests.s3server import S3Server, start_s3_server

# The sample files with known answers (tests/data/README.md says what each one is).
SAMPLE_DATA = Path(__file__).resolve().parent / "data"

_TRUE = {"1", "true", "yes"}
# CI sets this for the run on real services: a service that is not configured or not reachable
# fails the run instead of letting tests quietly fall back to the embedded default.
REQUIRE_SERVICES = os.environ.get("KALKULA_REQUIRE_SERVICES", "").lower() in _TRUE
# The whole run stores files on the S3 server in the services mode, or when asked to.
S3_FOR_EVERYTHING = REQUIRE_SERVICES or os.environ.get("KALKULA_TEST_S3", "").lower() in _TRUE


@pytest.fixture(scope="session", autouse=True)
def _required_services(django_db_setup, django_db_blocker):
    if not REQUIRE_SERVICES:
        return
    assert connection.vendor == "postgresql", (
        "KALKULA_REQUIRE_SERVICES is set but DATABASE_URL does not point at PostgreSQL"
    )
    assert settings.REDIS_URL, "KALKULA_REQUIRE_SERVICES is set but REDIS_URL is not"
    from django.core.cache import cache

    cache.set("services-check", "ok", 5)
    assert cache.get("services-check") == "ok", "Redis is configured but not answering"


@pytest.fixture(autouse=True)
def _empty_request_log_buffer():
    """The request log buffers per process: each test starts and ends with nothing waiting, and
    writes what it needs with `request_log_flush()`."""
    request_log_discard()
    yield
    request_log_discard()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server (with S3's presigned-URL checks) in a subprocess on a free loopback port,
    with an empty bucket; see tests/s3server.py."""
    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _file_storage(request, tmp_path_factory) -> Iterator[None]:
    """Where the run keeps files: the S3 server in the services mode (or with KALKULA_TEST_S3=1),
    a temporary directory otherwise; uploads spool to a temporary directory either way."""
    if S3_FOR_EVERYTHING:
        default = request.getfixturevalue("s3_server").storage()
    else:
        default = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path_factory.mktemp("media"))},
        }
    with override_settings(
        STORAGES={**settings.STORAGES, "default": default},
        EVIDENCE_SPOOL_DIR=tmp_path_factory.mktemp("spool"),
    ):
        yield


@pytest.fixture
def s3_storage(s3_server, settings) -> S3Server:
    """This test stores files on the S3 server, whatever the mode."""
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage()}
    return s3_server


@pytest.fixture
def empty_storage(request, settings, tmp_path) -> None:
    """This test starts with no stored files at all, in the run's kind of storage (a new bucket
    on the S3 server, or a new directory): for tests that look at everything stored."""
    if S3_FOR_EVERYTHING:
        server = request.getfixturevalue("s3_server")
        default = server.storage(bucket=server.new_bucket())
    else:
        default = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        }
    settings.STORAGES = {**settings.STORAGES, "default": default}


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


@dataclass
class PrivatePostgres:
    """The tests' own PostgreSQL cluster with a migrated `kalkula` database, for server processes
    the tests start and for outages they cause (never the machine's shared PostgreSQL)."""

    cluster: "servers.PostgresCluster"
    env: dict[str, str]

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.cluster.url("kalkula"), autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="session")
def private_postgres(tmp_path_factory) -> PrivatePostgres:
    with servers.postgres_cluster() as cluster:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE kalkula")
        env = servers.clean_env(
            DATABASE_URL=cluster.url("kalkula"),
            KALKULA_VAR_DIR=str(tmp_path_factory.mktemp("server-var")),
        )
        servers.manage(env, "migrate", "--noinput")
        yield PrivatePostgres(cluster=cluster, env=env)


@pytest.fixture(scope="session")
def server_redis_url() -> str:
    """Redis for server processes: the configured one, else a private redis-server."""
    if settings.REDIS_URL:
        yield settings.REDIS_URL
        return
    with servers.redis_server() as redis_server:
        yield redis_server.url()


@pytest.fixture
def probe_urlconf(settings):
    """Serve tests/probe_urls.py: the real routes plus stand-ins for other apps' endpoints.
    Through pytest-django's `settings`, so it unwinds in order with other overrides."""
    settings.ROOT_URLCONF = "tests.probe_urls"


@pytest.fixture
def root_client(client, db):
    """The admin as a superuser (`root`), logged in with the Django test client."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.login(username="root", password="pw-for-tests-only")
    return client


@pytest.fixture
def tenant_staff_client(client, tenant):
    """The admin as staff who administer `tenant` only, with every permission a non-superuser
    can hold."""
    from django.contrib.auth.models import Permission

    user = MembershipFactory(tenant=tenant, role=Role.ADMIN).user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    client.user = user
    return client
