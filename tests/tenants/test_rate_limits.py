"""Token buckets per key (or user) and bucket, at the plan's rates, shared across processes."""

import copy
import uuid

import pytest
import requests
from django.conf import settings as django_settings

from tenants.models import Plan, Tenant
from tests import servers


@pytest.fixture
def rates(settings):
    """Set some rates as (requests, seconds), keeping the others."""

    def set_rates(**overrides: tuple[int, int]) -> None:
        limits = copy.deepcopy(django_settings.RATE_LIMITS)
        for name, rate in overrides.items():
            plan, bucket = name.split("_")
            limits[plan][bucket] = rate
        settings.RATE_LIMITS = limits

    return set_rates


@pytest.mark.django_db
class TestRateLimits:
    def test_a_key_gets_its_bucket_then_429_with_the_headers(self, member, rates):
        rates(free_reads=(3, 3600))
        remaining = []
        for _ in range(3):
            response = member.client.get("/api/v1/me")
            assert response.status_code == 200
            assert response["RateLimit-Limit"] == "3"
            assert response["RateLimit-Policy"] == "3;w=3600"
            remaining.append(response["RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]

        refused = member.client.get("/api/v1/me")
        assert refused.status_code == 429
        assert refused.json()["error"] == {
            "code": "rate_limited",
            "message": f"Too many requests; retry in {refused['Retry-After']} s.",
            "details": {"limit": 3, "window_seconds": 3600},
        }
        # One token comes back every 1200 s; the bucket is full again after 3600 s.
        assert 1190 <= int(refused["Retry-After"]) <= 1200
        assert refused["RateLimit-Remaining"] == "0"
        assert 3590 <= int(refused["RateLimit-Reset"]) <= 3600

    def test_reads_writes_and_jobs_are_separate_buckets(self, admin, rates, probe_urlconf):
        rates(free_reads=(1, 3600), free_writes=(1, 3600), free_jobs=(1, 3600))
        assert admin.client.get("/api/v1/me").status_code == 200
        assert admin.client.get("/api/v1/me").status_code == 429
        assert admin.client.post("/api/v1/api-keys/", {"name": "a"}).status_code == 201
        assert admin.client.post("/api/v1/api-keys/", {"name": "b"}).status_code == 429
        # A view declaring `write_bucket = JOBS` draws from the jobs bucket.
        started = admin.client.post("/api/v1/probe/jobs/")
        assert started.status_code == 202
        assert started["RateLimit-Limit"] == "1"
        assert admin.client.post("/api/v1/probe/jobs/").status_code == 429

    def test_each_key_has_its_own_bucket(self, member, viewer, rates):
        rates(free_reads=(1, 3600))
        assert member.client.get("/api/v1/me").status_code == 200
        assert member.client.get("/api/v1/me").status_code == 429
        assert viewer.client.get("/api/v1/me").status_code == 200

    def test_a_session_user_has_a_bucket_too(self, session_member, rates):
        rates(free_reads=(1, 3600))
        _, client = session_member
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/me").status_code == 429

    def test_the_plan_sets_the_rate(self, member, rates):
        rates(free_reads=(1, 3600), team_reads=(5, 60))
        Tenant.objects.filter(pk=member.tenant.pk).update(plan=Plan.TEAM)
        response = member.client.get("/api/v1/me")
        assert response["RateLimit-Limit"] == "5"
        assert response["RateLimit-Policy"] == "5;w=60"

    def test_unauthenticated_requests_are_refused_before_any_bucket(self, db, client):
        response = client.get("/api/v1/me")
        assert response.status_code == 401
        assert "RateLimit-Limit" not in response


def test_two_server_processes_share_one_bucket(private_postgres, server_redis_url):
    """Two gunicorn processes on one Redis: the bucket holds 10 requests, wherever they land."""
    env = private_postgres.env | {"REDIS_URL": server_redis_url, "RATE_LIMIT_FREE_READS": "10/3600"}
    secret = servers.create_tenant_and_key(env, slug=f"shared-{uuid.uuid4().hex[:8]}")
    headers = {"Authorization": f"Api-Key {secret}"}
    answers = []
    with servers.gunicorn(env) as first, servers.gunicorn(env) as second:
        for index in range(12):
            server = (first, second)[index % 2]
            answers.append(requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10))
    assert [a.status_code for a in answers] == [200] * 10 + [429] * 2
    # Each answer counts down the one shared bucket, alternating between the processes.
    assert [a.headers["RateLimit-Remaining"] for a in answers[:10]] == [
        str(n) for n in range(9, -1, -1)
    ]
    assert answers[10].json()["error"]["code"] == "rate_limited"
    assert int(answers[10].headers["Retry-After"]) > 0
