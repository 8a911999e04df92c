"""The job pages follow jobs live: the status address the page polls, the selftest started from
the admin (the API's start service), the message that links a started job to its page, the
dashboard, and a superuser's websocket on any tenant."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from jobs.models import Job
from jobs.services import job_create, job_execute
from tests.factories import ProjectFactory
from tests.jobs.test_consumer import HOST, ORIGIN, application, session_headers

pytestmark = pytest.mark.django_db


def test_the_status_address_gives_the_state_events_and_result(root_client, tenant):
    job = job_create(tenant=tenant, kind="selftest", input={"steps": 2, "delay": 0}, dispatch=False)
    answer = root_client.get(f"/admin/jobs/job/{job.pk}/live/").json()
    assert (answer["status"], answer["finished"], answer["events"]) == ("queued", False, [])
    job_execute(job_id=job.id)
    answer = root_client.get(f"/admin/jobs/job/{job.pk}/live/?since=1").json()
    assert answer["status"] == "succeeded" and answer["finished"]
    assert [e["seq"] for e in answer["events"]] == [2, 3, 4]
    assert answer["events"][-1]["data"] == {
        "job": str(job.pk),
        "status": "succeeded",
        "result": {"steps": 2},
    }
    assert "steps" in answer["result_html"] and "<table" in answer["result_html"]
    assert root_client.get(f"/admin/jobs/job/{job.pk}/live/?since=x").status_code == 200


def test_another_tenants_job_has_no_status(tenant_staff_client, other_tenant):
    theirs = job_create(tenant=other_tenant, kind="selftest", dispatch=False)
    assert tenant_staff_client.get(f"/admin/jobs/job/{theirs.pk}/live/").status_code == 404


def test_a_selftest_starts_from_the_admin_and_links_to_its_page(tenant_staff_client, tenant):
    page = tenant_staff_client.get("/admin/jobs/job/start-selftest/").content.decode()
    assert "globex" not in page and tenant.slug in page
    response = tenant_staff_client.post(
        "/admin/jobs/job/start-selftest/",
        {"tenant": tenant.pk, "steps": 3, "delay": 0},
        follow=True,
    )
    job = Job.objects.get(tenant=tenant, kind="selftest")
    assert job.input == {"steps": 3, "delay": 0.0, "fail_at": None}
    assert response.redirect_chain[-1][0] == f"/admin/jobs/job/{job.pk}/change/"
    page = response.content.decode()
    assert f'<a href="/admin/jobs/job/{job.pk}/change/">follow selftest job' in page
    assert f'data-kk-job="{job.pk}"' in page and "data-kk-progress" in page
    assert 'name="_save"' not in page  # a job page has nothing to save


def test_a_selftest_for_another_tenant_is_refused(tenant_staff_client, other_tenant):
    response = tenant_staff_client.post(
        "/admin/jobs/job/start-selftest/", {"tenant": other_tenant.pk, "steps": 3, "delay": 0}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Job.objects.exists()


def test_the_dashboard_shows_the_staff_users_tenants(tenant_staff_client, tenant, other_tenant):
    ProjectFactory(tenant=tenant, name="Acme Tower")
    ProjectFactory(tenant=other_tenant, name="Globex Secret")
    running = job_create(tenant=tenant, kind="selftest", dispatch=False)
    failed = job_create(tenant=tenant, kind="selftest", input={"fail_at": 1}, dispatch=False)
    job_execute(job_id=failed.id)
    page = tenant_staff_client.get("/admin/").content.decode()
    assert "Acme Tower" in page and "Globex" not in page
    assert f'data-kk-job="{running.pk}"' in page
    assert f"/admin/jobs/job/{failed.pk}/change/" in page and "Failed at step 1" in page
    assert 'href="/"' in page  # "View site" leads somewhere real


@pytest.mark.django_db(transaction=True)
def test_a_superuser_follows_any_tenants_job_over_the_session_socket(django_user_model, tenant):
    root = django_user_model.objects.create_superuser("root", "root@example.com")
    job = job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0}, dispatch=False)
    headers = session_headers(root, HOST, ORIGIN)

    async def scenario():
        path = f"/ws/v1/events/?tenant={tenant.slug}"
        socket = WebsocketCommunicator(application, path, headers=headers)
        assert (await socket.connect())[0]
        await socket.send_json_to({"action": "subscribe", "topic": f"job:{job.id}", "since": 0})
        assert (await socket.receive_json_from(timeout=5))["type"] == "subscribed"
        await socket.disconnect()

    async_to_sync(scenario)()
