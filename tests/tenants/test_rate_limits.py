"""Token buckets per key (or user) and bucket, at the plan's rates, shared across processes."""

import copy
import time
import uuid

import pytest
import requests
from django.conf import settings as django_settings

from tenants import ratelimit
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


class TestLeases:
    """A server process takes a busy key's tokens from Redis a lease at a time."""

    # Refills 1 token in 10**4 s: no test here lasts long enough to see one.
    WINDOW = 10**7

    @pytest.fixture
    def process(self, server_redis_url):
        """One server process's view of the Redis buckets, counting its round trips."""

        def make() -> ratelimit._RedisBuckets:
            buckets = ratelimit._RedisBuckets(server_redis_url)
            script = buckets.script
            buckets.round_trips = 0

            def counted(**kwargs):
                buckets.round_trips += 1
                return script(**kwargs)

            buckets.script = counted
            return buckets

        return make

    @pytest.fixture
    def key(self) -> str:
        return f"reads:key:{uuid.uuid4()}"

    def redis_tokens(self, buckets, key: str) -> float:
        return float(buckets.client.hget(f"kalkula:ratelimit:{key}", "tokens"))

    def test_a_busy_key_costs_a_round_trip_per_lease_not_per_request(self, process, key):
        buckets = process()
        answers = [buckets.take(key, 10_000, self.WINDOW) for _ in range(300)]
        assert all(allowed for allowed, *_ in answers)
        # RateLimit-Remaining counts down by one a request, as if every request went to Redis.
        assert [remaining for _, remaining, *_ in answers] == list(range(9_999, 9_699, -1))
        # Leases of 1, 2, 4 ... 64, then at most a hundredth of the bucket: 100.
        assert buckets.round_trips == 9
        # Redis has lent 1 + 2 + ... + 64 + 100 + 100 tokens: the 300 used and 27 still held.
        assert self.redis_tokens(buckets, key) == pytest.approx(10_000 - 327, abs=0.01)

    def test_a_small_bucket_is_exact_request_by_request(self, process, key):
        buckets = process()
        answers = [buckets.take(key, 99, self.WINDOW)[:2] for _ in range(5)]
        assert answers == [(True, 98), (True, 97), (True, 96), (True, 95), (True, 94)]
        assert buckets.round_trips == 5  # under LEASE_SHARE tokens, a lease is one token
        assert self.redis_tokens(buckets, key) == pytest.approx(94, abs=0.01)

    def test_processes_together_never_get_more_than_the_bucket(self, process, key):
        first, second = process(), process()
        allowed = 0
        for index in range(700):
            allowed += (first, second)[index % 2].take(key, 500, self.WINDOW)[0]
        assert allowed == 500
        refused = first.take(key, 500, self.WINDOW)
        assert refused[0] is False
        assert refused[2] > 0  # ms until the next token: Retry-After

    def test_a_lapsed_leases_unused_tokens_go_back_to_the_bucket(self, process, key, monkeypatch):
        monkeypatch.setattr(ratelimit, "LEASE_SECONDS", 0.2)
        buckets = process()
        for _ in range(4):  # leases of 1, 2 and 4: 3 tokens still held
            buckets.take(key, 10_000, self.WINDOW)
        assert self.redis_tokens(buckets, key) == pytest.approx(10_000 - 7, abs=0.01)
        time.sleep(0.25)
        buckets.take(key, 10_000, self.WINDOW)
        # The 3 held tokens came back; the new lease is one token, used by this request.
        assert self.redis_tokens(buckets, key) == pytest.approx(10_000 - 5, abs=0.01)
