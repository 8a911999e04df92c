"""The request log: buffered per process, written in bulk, visible to tenant admins."""

import logging
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import RequestLog, Role
from tenants.request_log import request_log_flush
from tests import servers
from tests.factories import MembershipFactory, RequestLogFactory


@pytest.mark.django_db
class TestRecording:
    def test_an_api_request_is_logged_with_who_what_and_how_long(self, member):
        response = member.client.get(
            "/api/v1/me", HTTP_USER_AGENT="curl/8.5", HTTP_X_REQUEST_ID="trace-0001-abcd"
        )
        assert request_log_flush() == 1
        entry = RequestLog.objects.get()
        assert entry.tenant == member.tenant
        assert entry.api_key == member.api_key
        assert entry.user is None
        assert (entry.method, entry.path, entry.status_code) == ("GET", "/api/v1/me", 200)
        assert entry.request_id == response["X-Request-ID"] == "trace-0001-abcd"
        assert entry.ip == "127.0.0.1"
        assert entry.user_agent == "curl/8.5"
        assert entry.duration_ms > 0

    def test_a_session_user_is_logged_as_the_user(self, session_member):
        user, client = session_member
        client.get("/api/v1/me")
        request_log_flush()
        entry = RequestLog.objects.get()
        assert (entry.user, entry.api_key) == (user, None)

    def test_refusals_are_logged_when_the_tenant_is_known(self, member):
        member.client.get("/api/v1/api-keys/")  # 403: a member may not list keys
        member.client.delete("/api/v1/me")  # 405
        request_log_flush()
        assert sorted(RequestLog.objects.values_list("status_code", flat=True)) == [403, 405]

    def test_requests_without_a_tenant_or_outside_the_api_are_not(self, client, db):
        client.get("/api/v1/me")  # 401: no tenant to log it for
        client.get("/healthz")
        assert request_log_flush() == 0

    def test_the_request_itself_does_not_write_to_the_database(self, member):
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                member.client.get("/api/v1/me")
        assert not [q for q in queries.captured_queries if "requestlog" in q["sql"]]
        with CaptureQueriesContext(connection) as queries:
            assert request_log_flush() == 3
        inserts = [q for q in queries.captured_queries if "INSERT INTO" in q["sql"]]
        # One bulk write for the lot: an executemany, or on PostgreSQL a COPY (which Django's
        # query log does not see).
        assert len(inserts) == (0 if connection.vendor == "postgresql" else 1)
        assert RequestLog.objects.filter(tenant=member.tenant).count() == 3

    def test_a_full_buffer_drops_the_oldest_and_says_so(self, member, settings, caplog):
        settings.REQUEST_LOG_MAX_BUFFER = 2
        for path in ["/api/v1/me", "/api/v1/api-keys/", "/api/v1/request-log/"]:
            member.client.get(path)
        with caplog.at_level(logging.WARNING, logger="tenants.request_log"):
            assert request_log_flush() == 2
        assert "dropped 1 entries" in caplog.text
        assert set(RequestLog.objects.values_list("path", flat=True)) == {
            "/api/v1/api-keys/",
            "/api/v1/request-log/",
        }

    def test_entries_of_a_tenant_deleted_meanwhile_are_dropped_alone(self, member, outsider):
        member.client.get("/api/v1/me")
        outsider.client.get("/api/v1/me")
        outsider.tenant.delete()
        assert request_log_flush() == 1
        assert RequestLog.objects.get().tenant == member.tenant

    def test_a_user_deleted_meanwhile_leaves_the_entry_without_a_user(self, session_member):
        user, client = session_member
        client.get("/api/v1/me")
        user.delete()
        assert request_log_flush() == 1
        assert RequestLog.objects.get().user is None


@pytest.mark.django_db
class TestRequestLogApi:
    def test_an_admin_sees_the_tenants_requests_newest_first(self, admin, outsider):
        RequestLogFactory(tenant=outsider.tenant, path="/api/v1/theirs")
        older = RequestLogFactory(
            tenant=admin.tenant, created_at=timezone.now() - timedelta(minutes=5)
        )
        newer = RequestLogFactory(tenant=admin.tenant, api_key=admin.api_key, method="POST")
        body = admin.client.get("/api/v1/request-log/").json()
        assert [e["id"] for e in body["results"]] == [str(newer.id), str(older.id)]
        assert body["next"] is None
        first = body["results"][0]
        assert first["api_key"] == str(admin.api_key.id)
        assert first["method"] == "POST"
        assert first["duration_ms"] == "1.250"
        assert set(first) == {
            "id",
            "created_at",
            "method",
            "path",
            "status_code",
            "duration_ms",
            "request_id",
            "ip",
            "user_agent",
            "api_key",
            "user",
        }

    def test_it_is_cursor_paginated(self, admin):
        for minutes in range(5):
            RequestLogFactory(
                tenant=admin.tenant, created_at=timezone.now() - timedelta(minutes=minutes)
            )
        seen, url = [], "/api/v1/request-log/?page_size=2"
        while url:
            body = admin.client.get(url).json()
            seen += [e["id"] for e in body["results"]]
            url = body["next"]
        assert len(seen) == len(set(seen)) == 5

    def test_filters(self, admin, member):
        now = timezone.now()
        hit = RequestLogFactory(
            tenant=admin.tenant,
            api_key=member.api_key,
            method="POST",
            status_code=201,
            path="/api/v1/projects/",
            request_id="find-me-0001",
            created_at=now - timedelta(hours=1),
        )
        RequestLogFactory(tenant=admin.tenant, created_at=now - timedelta(days=2))
        for query in [
            "method=POST",
            "status=201",
            "path=/api/v1/proj",
            f"api_key={member.api_key.id}",
            "request_id=find-me-0001",
            f"since={(now - timedelta(hours=2)).isoformat().replace('+00:00', 'Z')}",
        ]:
            results = admin.client.get(f"/api/v1/request-log/?{query}").json()["results"]
            assert [e["id"] for e in results] == [str(hit.id)], query
        until = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
        assert len(admin.client.get(f"/api/v1/request-log/?until={until}").json()["results"]) == 1

    def test_times_with_any_iso_offset_are_compared_in_utc(self, admin):
        hit = RequestLogFactory(tenant=admin.tenant)
        # 19:57 behind UTC: valid ISO 8601, beyond what PostgreSQL takes as an offset.
        since = (hit.created_at - timedelta(minutes=1)).astimezone(
            timezone.get_fixed_timezone(-(19 * 60 + 57))
        )
        response = admin.client.get(
            "/api/v1/request-log/",
            {"since": since.isoformat(), "until": "2157-07-02T11:18:26-19:57"},
        )
        assert response.status_code == 200
        assert [e["id"] for e in response.json()["results"]] == [str(hit.id)]

    @pytest.mark.parametrize("query", ["status=abc", "since=yesterday", "method=BREW"])
    def test_a_bad_filter_is_400_naming_it(self, admin, query):
        response = admin.client.get(f"/api/v1/request-log/?{query}")
        assert response.status_code == 400
        assert query.split("=")[0] in response.json()["error"]["details"]

    def test_a_time_beyond_the_calendar_in_utc_is_400(self, admin):
        response = admin.client.get("/api/v1/request-log/", {"until": "9999-12-31T23:00:00-05:00"})
        assert response.status_code == 400
        assert "until" in response.json()["error"]["details"]

    @pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
    def test_only_admins_and_owners_see_it(self, role, request):
        assert request.getfixturevalue(role).client.get("/api/v1/request-log/").status_code == 403


@pytest.mark.django_db
class TestRequestLogAdmin:
    def test_staff_read_their_tenants_log_and_cannot_change_it(self, client, tenant, outsider):
        mine = RequestLogFactory(tenant=tenant, path="/api/v1/mine")
        RequestLogFactory(tenant=outsider.tenant, path="/api/v1/theirs")
        membership = MembershipFactory(tenant=tenant, role=Role.ADMIN)
        user = membership.user
        user.is_staff = True
        user.save()
        from django.contrib.auth.models import Permission

        user.user_permissions.set(Permission.objects.filter(codename="view_requestlog"))
        client.force_login(user)
        listing = client.get("/admin/tenants/requestlog/").content.decode()
        assert "/api/v1/mine" in listing and "/api/v1/theirs" not in listing
        page = client.get(f"/admin/tenants/requestlog/{mine.pk}/change/")
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert client.get("/admin/tenants/requestlog/add/").status_code == 403
        client.post(f"/admin/tenants/requestlog/{mine.pk}/delete/", {"post": "yes"})
        assert RequestLog.objects.filter(pk=mine.pk).exists()


def _wait_for_rows(private_postgres, slug: str, count: int) -> int:
    """Rows logged for the tenant, polled until `count` are there or 20 s have passed."""
    deadline = time.monotonic() + 20
    while True:
        (rows,) = private_postgres.query(
            "SELECT count(*) FROM tenants_requestlog l JOIN tenants_tenant t ON t.id = l.tenant_id "
            "WHERE t.slug = %s",
            (slug,),
        )[0]
        if rows >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


class TestInAServerProcess:
    def test_the_background_thread_writes_a_full_batch_and_the_rest_at_shutdown(
        self, private_postgres
    ):
        slug = f"log-{uuid.uuid4().hex[:8]}"
        secret = servers.create_tenant_and_key(private_postgres.env, slug=slug)
        env = private_postgres.env | {
            "REQUEST_LOG_BATCH_SIZE": "3",
            "REQUEST_LOG_FLUSH_MS": "3600000",  # only size and shutdown can trigger a write
        }
        headers = {"Authorization": f"Api-Key {secret}"}
        with servers.gunicorn(env) as server:
            for _ in range(3):
                requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10)
            assert _wait_for_rows(private_postgres, slug, 3) == 3
            requests.get(f"{server.url}/api/v1/api-keys/", headers=headers, timeout=10)
        assert _wait_for_rows(private_postgres, slug, 4) == 4

    def test_the_background_thread_writes_what_waits_after_the_interval(self, private_postgres):
        slug = f"log-{uuid.uuid4().hex[:8]}"
        secret = servers.create_tenant_and_key(private_postgres.env, slug=slug)
        env = private_postgres.env | {"REQUEST_LOG_FLUSH_MS": "100"}
        with servers.gunicorn(env) as server:
            requests.get(
                f"{server.url}/api/v1/me",
                headers={"Authorization": f"Api-Key {secret}"},
                timeout=10,
            )
            assert _wait_for_rows(private_postgres, slug, 1) == 1
