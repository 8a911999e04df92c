"""Degraded mode, with real outages of private instances the tests start themselves: Redis stopped,
the S3 server stopped, PostgreSQL restarted. The machine's shared services are never touched."""

import logging
import time
import uuid

import pytest
import requests
from botocore.config import Config
from django.conf import settings

from tenants import ratelimit
from tenants.models import IdempotencyKey
from tests import servers
from tests.s3server import start_s3_server


def _wait_for(predicate, *, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class TestRedisDown:
    def test_the_api_serves_reads_and_writes_and_readyz_says_degraded(self, private_postgres):
        with servers.redis_server() as redis_server:
            env = private_postgres.env | {
                "REDIS_URL": redis_server.url(),
                # Jobs keep their own broker here, so only the cache and the limiter lose Redis.
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                "RATE_LIMIT_REDIS_RETRY_SECONDS": "0",
            }
            secret = servers.create_tenant_and_key(env, slug=f"redis-{uuid.uuid4().hex[:8]}")
            headers = {"Authorization": f"Api-Key {secret}"}
            with servers.gunicorn(env) as server:
                before = requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10)
                assert before.status_code == 200
                assert "RateLimit-Remaining" in before.headers
                assert requests.get(f"{server.url}/readyz", timeout=10).json()["status"] == "ok"

                redis_server.stop()
                read = requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10)
                assert read.status_code == 200
                assert "RateLimit-Remaining" not in read.headers  # let through, unlimited
                write = requests.post(
                    f"{server.url}/api/v1/api-keys/",
                    json={"name": "ci"},
                    headers=headers,
                    timeout=10,
                )
                assert write.status_code == 201
                ready = requests.get(f"{server.url}/readyz", timeout=10)
                assert ready.status_code == 200
                assert ready.json()["status"] == "degraded"
                assert ready.json()["components"]["cache"]["status"] == "down"
                assert "rate limiter: Redis failed" in server.log()
                assert "Exception ignored" in server.log()  # django-redis, logged

                redis_server.start()  # same port: the server finds it again by itself
                after = requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10)
                assert "RateLimit-Remaining" in after.headers
                assert requests.get(f"{server.url}/readyz", timeout=10).json()["status"] == "ok"

    def test_the_limiter_fails_open_and_retries_redis_after_a_while(
        self, settings, unused_tcp_port, caplog, monkeypatch
    ):
        settings.REDIS_URL = f"redis://127.0.0.1:{unused_tcp_port}/0"
        settings.RATE_LIMIT_REDIS_RETRY_SECONDS = 3600
        monkeypatch.setattr(ratelimit, "_redis_retry_at", 0.0)
        with caplog.at_level(logging.WARNING, logger="tenants.ratelimit"):
            for _ in range(3):
                assert ratelimit.rate_limit_take(identity="k", bucket="reads", plan="free") is None
        # One warning per outage window, not one per request.
        assert caplog.text.count("rate limiter: Redis failed") == 1
        assert "unlimited for 3600 s" in caplog.text


@pytest.fixture
def s3_storage(settings):
    """The default storage on a private moto S3 server, which the test may stop."""
    s3 = start_s3_server()
    storage = s3.storage()
    # One attempt: a refused connection is final, and the test stays fast.
    storage["OPTIONS"]["client_config"] = Config(
        signature_version="s3v4", retries={"mode": "standard", "max_attempts": 1}
    )
    settings.STORAGES = settings.STORAGES | {"default": storage}
    try:
        yield s3
    finally:
        s3.stop()


@pytest.mark.django_db
class TestStorageDown:
    def test_storage_errors_are_503_and_nothing_is_kept_while_the_rest_works(
        self, member, s3_storage, probe_urlconf, client
    ):
        stored = member.client.post("/api/v1/probe/storage/", HTTP_IDEMPOTENCY_KEY="up-1")
        assert stored.status_code == 201
        assert client.get("/readyz").json()["components"]["storage"]["status"] == "ok"

        s3_storage.stop()
        response = member.client.post("/api/v1/probe/storage/", HTTP_IDEMPOTENCY_KEY="up-2")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "storage_unavailable"
        assert not IdempotencyKey.objects.filter(key="up-2").exists()  # free to retry
        assert member.client.get("/api/v1/me").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["components"]["storage"]["status"] == "down"


class TestPostgresRestart:
    def test_the_next_requests_after_a_restart_succeed(self, private_postgres):
        slug = f"restart-{uuid.uuid4().hex[:8]}"
        secret = servers.create_tenant_and_key(private_postgres.env, slug=slug)
        headers = {"Authorization": f"Api-Key {secret}"}
        # One worker keeping its connection (CONN_MAX_AGE) across requests; log written quickly.
        env = private_postgres.env | {"REQUEST_LOG_FLUSH_MS": "100"}

        def logged() -> int:
            return private_postgres.query(
                "SELECT count(*) FROM tenants_requestlog l JOIN tenants_tenant t "
                "ON t.id = l.tenant_id WHERE t.slug = %s",
                (slug,),
            )[0][0]

        with servers.gunicorn(env) as server:
            for _ in range(2):
                assert (
                    requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10).status_code
                    == 200
                )
            assert _wait_for(lambda: logged() == 2)
            (connections_before,) = private_postgres.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'kalkula' "
                "AND pid <> pg_backend_pid()"
            )[0]
            assert connections_before >= 1  # the worker's persistent connection(s)

            private_postgres.cluster.restart()  # every connection of the worker is now dead

            assert (
                requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10).status_code
                == 200
            )
            created = requests.post(
                f"{server.url}/api/v1/api-keys/",
                json={"name": "after"},
                headers=headers,
                timeout=10,
            )
            assert created.status_code == 201
            # The request log's writer thread reconnects too.
            assert _wait_for(lambda: logged() == 4)
            assert "Traceback" not in server.log()
