"""REST: /api/v1/jobs/…"""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from jobs import live
from jobs.models import Job
from jobs.services import job_create
from tenants.models import Role, Tenant
from tests.factories import JobEventFactory, JobFactory, ProjectFactory, make_api_key
from tests.jobs import kinds  # noqa: F401 - registers the test job kinds

pytestmark = pytest.mark.django_db


def start(actor, body: dict):
    return actor.client.post("/api/v1/jobs/", body, format="json")


class TestStartingAJob:
    def test_a_member_starts_a_selftest_and_gets_the_job_back_with_202(self, member):
        response = start(member, {"kind": "selftest", "input": {"steps": 2}})
        assert response.status_code == 202, response.content
        body = response.json()
        job = Job.objects.get(pk=body["id"])
        assert (body["kind"], body["status"], body["queue"], body["progress"]) == (
            "selftest",
            "queued",
            "high",
            0,
        )
        # The input as the kind's serializer cleaned it: its defaults filled in.
        assert body["input"] == {"steps": 2, "delay": 0.1, "fail_at": None}
        # An API key has no user: the key itself is recorded as the creator.
        assert body["created_by"] == {
            "type": "api_key",
            "id": str(member.api_key.id),
            "name": "member key",
        }
        assert (job.created_by_key, job.created_by, job.tenant) == (
            member.api_key,
            None,
            member.tenant,
        )

    def test_a_browser_user_is_recorded_as_the_creator(self, session_member):
        user, client = session_member
        response = client.post("/api/v1/jobs/", {"kind": "selftest"}, format="json")
        assert response.status_code == 202, response.content
        assert response.json()["created_by"] == {"type": "user", "username": user.username}

    def test_a_job_can_belong_to_a_project(self, member):
        project = ProjectFactory(tenant=member.tenant)
        response = start(member, {"kind": "selftest", "project": str(project.id)})
        assert response.json()["project"] == str(project.id)

    @pytest.mark.parametrize("kind", ["test_writes_in_a_transaction", "nope"])
    def test_kinds_that_cannot_be_started_here_are_refused_by_name(self, member, kind):
        response = start(member, {"kind": kind})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid_job_kind"
        assert repr(kind) in error["message"] and "'selftest'" in error["message"]
        assert not Job.objects.exists()

    def test_invalid_input_is_refused_naming_the_field(self, member):
        response = start(member, {"kind": "selftest", "input": {"steps": 0, "delay": "slow"}})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert "input.steps:" in error["message"] and "input.delay:" in error["message"]
        assert not Job.objects.exists()

    @pytest.mark.parametrize(
        "body", [{}, {"kind": "selftest", "input": [1]}, {"kind": "selftest", "project": "x"}]
    )
    def test_malformed_bodies_are_400(self, member, body):
        assert start(member, body).status_code == 400

    def test_a_project_of_another_tenant_is_not_found(self, member, other_tenant):
        theirs = ProjectFactory(tenant=other_tenant)
        response = start(member, {"kind": "selftest", "project": str(theirs.id)})
        assert response.status_code == 404
        assert response.json()["error"]["details"] == {"project": ["No such project."]}

    def test_viewers_cannot_start_jobs(self, viewer):
        assert start(viewer, {"kind": "selftest"}).status_code == 403

    def test_a_second_exclusive_job_on_a_project_is_a_conflict(self, member):
        project = ProjectFactory(tenant=member.tenant)
        body = {"kind": "test_exclusive", "project": str(project.id)}
        first = start(member, body)
        assert first.status_code == 202
        second = start(member, body)
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "job_conflict"
        assert second.json()["error"]["details"] == {"job": first.json()["id"]}

    def test_over_the_monthly_quota_nothing_starts(self, member):
        Tenant.objects.filter(pk=member.tenant.pk).update(max_jobs_per_month=1)
        assert start(member, {"kind": "selftest"}).status_code == 202
        response = start(member, {"kind": "selftest"})
        assert (response.status_code, response.json()["error"]["code"]) == (429, "quota_exceeded")
        assert Job.objects.count() == 1


class TestReadingJobs:
    def test_the_list_filters_and_pages_with_a_constant_number_of_queries(self, member, admin):
        project = ProjectFactory(tenant=member.tenant)
        for index in range(12):
            job_create(
                tenant=member.tenant,
                kind="selftest",
                project=project if index % 2 else None,
                created_by_key=member.api_key if index % 3 else admin.api_key,
                dispatch=False,
            )
        Job.objects.filter(project=project).update(status=Job.Status.FAILED)

        def queries(page_size: int) -> int:
            with CaptureQueriesContext(connection) as captured:
                response = member.client.get(f"/api/v1/jobs/?page_size={page_size}")
            assert len(response.json()["results"]) == page_size
            return len(captured)

        member.client.get("/api/v1/jobs/")  # the key's first use is recorded once
        assert queries(2) == queries(12)

        page = member.client.get("/api/v1/jobs/?page_size=5").json()
        assert len(page["results"]) == 5 and page["next"]
        rest = member.client.get(page["next"]).json()
        assert len(rest["results"]) == 5
        assert not {j["id"] for j in page["results"]} & {j["id"] for j in rest["results"]}

        def ids(query: str) -> set[str]:
            return {j["id"] for j in member.client.get(f"/api/v1/jobs/?{query}").json()["results"]}

        in_project = {
            str(pk) for pk in Job.objects.filter(project=project).values_list("pk", flat=True)
        }
        assert ids(f"project={project.id}") == in_project
        assert ids("status=failed") == in_project
        assert len(ids("status=queued")) == 6
        assert ids("kind=nope") == set()

    @pytest.mark.parametrize("query", ["status=bogus", "project=not-a-uuid"])
    def test_bad_filters_are_400(self, member, query):
        response = member.client.get(f"/api/v1/jobs/?{query}")
        assert response.status_code == 400

    def test_viewers_read_jobs(self, viewer, member):
        job = JobFactory(tenant=member.tenant)
        assert viewer.client.get(f"/api/v1/jobs/{job.id}/").json()["id"] == str(job.id)
        assert viewer.client.get("/api/v1/jobs/").json()["results"][0]["id"] == str(job.id)

    def test_events_after_since_in_order(self, member):
        job = JobFactory(tenant=member.tenant)
        for seq in range(1, 6):
            JobEventFactory(tenant=member.tenant, job=job, seq=seq, payload={"n": seq})
        body = member.client.get(f"/api/v1/jobs/{job.id}/events/?since=2").json()
        assert [e["seq"] for e in body["results"]] == [3, 4, 5]
        assert body["results"][0]["data"] == {"job": str(job.id), "n": 3}
        assert body["next"] is None
        assert len(member.client.get(f"/api/v1/jobs/{job.id}/events/").json()["results"]) == 5

    def test_events_published_but_not_stored_yet_follow_on_the_last_page(self, member):
        job = JobFactory(tenant=member.tenant)
        for seq in range(1, 4):
            JobEventFactory(tenant=member.tenant, job=job, seq=seq, payload={"n": seq})
        live.outbox_put(
            job_id=job.id,
            entries=[
                {"seq": seq, "type": "job.log", "payload": {"n": seq}, "created_at": "now"}
                for seq in (3, 4, 5)  # 3 is stored already: it is not repeated
            ],
        )
        first = member.client.get(f"/api/v1/jobs/{job.id}/events/?since=1&page_size=1").json()
        assert [e["seq"] for e in first["results"]] == [2]
        rest = member.client.get(first["next"]).json()
        assert [e["seq"] for e in rest["results"]] == [3, 4, 5]
        assert rest["results"][-1]["data"] == {"job": str(job.id), "n": 5}

    def test_a_bad_since_is_400(self, member):
        job = JobFactory(tenant=member.tenant)
        assert member.client.get(f"/api/v1/jobs/{job.id}/events/?since=-1").status_code == 400

    def test_another_tenants_job_its_events_and_cancel_are_404(self, member, outsider):
        job = JobFactory(tenant=member.tenant)
        for url in [f"/api/v1/jobs/{job.id}/", f"/api/v1/jobs/{job.id}/events/"]:
            assert outsider.client.get(url).status_code == 404
        assert outsider.client.post(f"/api/v1/jobs/{job.id}/cancel/").status_code == 404
        assert outsider.client.get("/api/v1/jobs/").json()["results"] == []
        job.refresh_from_db()
        assert job.cancel_requested_at is None

    def test_an_unknown_job_is_404(self, member):
        assert member.client.get(f"/api/v1/jobs/{uuid.uuid4()}/").status_code == 404


class TestCancelling:
    def test_the_key_that_started_a_job_can_cancel_it(self, member):
        job_id = start(member, {"kind": "selftest"}).json()["id"]
        response = member.client.post(f"/api/v1/jobs/{job_id}/cancel/")
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"  # it was still queued

    def test_the_user_who_started_a_job_can_cancel_it(self, session_member):
        _, client = session_member
        job_id = client.post("/api/v1/jobs/", {"kind": "selftest"}, format="json").json()["id"]
        assert client.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200

    def test_admins_can_cancel_anyones_job(self, member, admin):
        job_id = start(member, {"kind": "selftest"}).json()["id"]
        assert admin.client.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200

    def test_other_members_and_viewers_cannot(self, member, viewer, tenant):
        job_id = start(member, {"kind": "selftest"}).json()["id"]
        _, other_secret = make_api_key(tenant=tenant, role=Role.MEMBER, name="another member")
        another_member = APIClient()
        another_member.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_secret}")
        for client in [another_member, viewer.client]:
            response = client.post(f"/api/v1/jobs/{job_id}/cancel/")
            assert response.status_code == 403
        assert Job.objects.get(pk=job_id).status == "queued"

    def test_a_running_job_is_asked_to_stop(self, member):
        job = Job.objects.get(pk=start(member, {"kind": "selftest"}).json()["id"])
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
        body = member.client.post(f"/api/v1/jobs/{job.id}/cancel/").json()
        assert body["status"] == "running" and body["cancel_requested_at"]
