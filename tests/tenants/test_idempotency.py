"""Idempotency-Key on POST: one effect per key and request, within 24 h, per tenant."""

import threading
import time
import uuid
from datetime import timedelta

import psycopg
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import ApiKey, IdempotencyKey, UsageCounter
from tests import servers


def post_key(actor, body, key, **extra):
    return actor.client.post(
        "/api/v1/api-keys/", body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra
    )


@pytest.mark.django_db
class TestIdempotencyKey:
    def test_a_repeat_gets_the_first_answer_and_makes_no_second_key(self, admin):
        first = post_key(admin, {"name": "ci", "role": "viewer"}, "create-ci-1")
        again = post_key(admin, {"name": "ci", "role": "viewer"}, "create-ci-1")
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert "Idempotent-Replayed" not in first
        assert again["Idempotent-Replayed"] == "true"
        assert ApiKey.objects.filter(tenant=admin.tenant, name="ci").count() == 1

    def test_the_same_key_with_another_body_is_422_and_changes_nothing(self, admin):
        assert post_key(admin, {"name": "ci"}, "k-1").status_code == 201
        response = post_key(admin, {"name": "other"}, "k-1")
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        assert not ApiKey.objects.filter(name="other").exists()

    def test_the_same_key_on_another_endpoint_is_422(self, admin, probe_urlconf):
        assert post_key(admin, {"name": "ci"}, "k-2").status_code == 201
        response = admin.client.post(
            "/api/v1/probe/jobs/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
        )
        assert response.status_code == 422

    def test_keys_belong_to_their_tenant(self, admin, outsider):
        mine = post_key(admin, {"name": "ci"}, "shared-key")
        theirs = post_key(outsider, {"name": "ci"}, "shared-key")
        assert mine.status_code == theirs.status_code == 201
        assert "Idempotent-Replayed" not in theirs
        assert mine.json()["id"] != theirs.json()["id"]

    def test_after_24_hours_a_key_is_new_again(self, admin):
        post_key(admin, {"name": "ci"}, "old-key")
        IdempotencyKey.objects.filter(key="old-key").update(
            created_at=timezone.now() - timedelta(hours=24, minutes=1)
        )
        again = post_key(admin, {"name": "ci"}, "old-key")
        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again
        assert ApiKey.objects.filter(name="ci").count() == 2

    def test_an_error_answer_is_remembered_too(self, admin):
        first = post_key(admin, {"role": "viewer"}, "bad-body")
        again = post_key(admin, {"role": "viewer"}, "bad-body")
        assert first.status_code == again.status_code == 400
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"

    def test_refusals_before_the_view_runs_do_not_use_up_the_key(self, member, admin):
        # A member may not create keys: 403 comes from the permission check, not the handler.
        assert post_key(member, {"name": "ci"}, "k-3").status_code == 403
        assert not IdempotencyKey.objects.filter(key="k-3").exists()

    def test_a_server_error_keeps_neither_the_effect_nor_the_key(self, member, probe_urlconf):
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {member.secret}")
        response = client.post("/api/v1/probe/broken/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 500
        assert not IdempotencyKey.objects.filter(key="k").exists()
        assert not UsageCounter.objects.filter(tenant=member.tenant).exists()

    def test_a_job_start_repeated_with_its_key_starts_one_job(self, member, probe_urlconf):
        for _ in range(3):
            response = member.client.post(
                "/api/v1/probe/jobs/", {}, format="json", HTTP_IDEMPOTENCY_KEY="start-1"
            )
            assert response.status_code == 202
        counter = UsageCounter.objects.get(tenant=member.tenant)
        assert (counter.metric, counter.value) == (UsageCounter.Metric.JOBS_STARTED, 1)

    def test_a_multipart_upload_is_compared_by_its_content(self, member, probe_urlconf):
        def upload(content: bytes):
            return member.client.post(
                "/api/v1/probe/uploads/",
                {"file": SimpleUploadedFile("budget.csv", content), "kind": "budget"},
                format="multipart",
                HTTP_IDEMPOTENCY_KEY="upload-1",
            )

        assert upload(b"a;b\n1;2\n").status_code == 201
        replay = upload(b"a;b\n1;2\n")
        assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
        assert upload(b"a;b\n1;3\n").status_code == 422
        assert UsageCounter.objects.get(tenant=member.tenant).value == len(b"a;b\n1;2\n")

    def test_without_a_key_every_post_counts(self, admin):
        for _ in range(2):
            assert admin.client.post("/api/v1/api-keys/", {"name": "ci"}).status_code == 201
        assert ApiKey.objects.filter(name="ci").count() == 2

    def test_a_body_too_big_to_compare_is_413(self, admin, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
        response = post_key(admin, {"name": "a name longer than ten bytes"}, "big")
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
        assert not ApiKey.objects.filter(tenant=admin.tenant, name__startswith="a name").exists()

    @pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ünicode"])
    def test_a_malformed_key_is_400(self, admin, key):
        response = admin.client.post(
            "/api/v1/api-keys/",
            {"name": "ci"},
            format="json",
            headers={"Idempotency-Key": key},
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_idempotency_key"
        assert not ApiKey.objects.filter(name="ci").exists()


def test_two_concurrent_requests_with_one_key_have_one_effect(private_postgres):
    """Two gunicorn workers on PostgreSQL get the same POST at the same moment. The test holds the
    key's row itself until both requests are waiting on it, so they truly overlap; then one
    creates the API key and the other, having waited, replays its answer."""
    slug = f"concurrent-{uuid.uuid4().hex[:8]}"
    secret = servers.create_tenant_and_key(private_postgres.env, slug=slug)
    (tenant_id,) = private_postgres.query("SELECT id FROM tenants_tenant WHERE slug = %s", (slug,))[
        0
    ]
    headers = {"Authorization": f"Api-Key {secret}", "Idempotency-Key": "one-effect"}
    body = {"name": "made once", "role": "viewer"}
    answers: list[requests.Response] = []

    with servers.gunicorn(private_postgres.env, workers=2) as server:
        holder = psycopg.connect(private_postgres.cluster.url("kalkula"))
        holder.execute(
            "INSERT INTO tenants_idempotencykey (id, tenant_id, key, request_hash, created_at) "
            "VALUES (%s, %s, 'one-effect', '', now())",
            (uuid.uuid4(), tenant_id),
        )

        def post() -> None:
            answers.append(
                requests.post(
                    f"{server.url}/api/v1/api-keys/", json=body, headers=headers, timeout=30
                )
            )

        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            (waiting,) = private_postgres.query(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = 'kalkula' AND wait_event_type = 'Lock'"
            )[0]
            if waiting == 2:
                break
            time.sleep(0.02)
        assert waiting == 2, "both requests should be waiting on the key"
        holder.rollback()
        holder.close()
        for thread in threads:
            thread.join(timeout=30)

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    (count,) = private_postgres.query(
        "SELECT count(*) FROM tenants_apikey WHERE tenant_id = %s AND name = 'made once'",
        (tenant_id,),
    )[0]
    assert count == 1
