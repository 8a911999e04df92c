import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from jobs.models import Job
from jobs.progress import Progress
from jobs.services import job_create, job_execute
from tenants.models import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def superuser_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com"))
    return client


@pytest.fixture
def tenant_admin_client(client, tenant):
    """A staff user who administers `tenant` only."""
    user = MembershipFactory(tenant=tenant, role=Role.ADMIN).user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="jobs"))
    client.force_login(user)
    return client


def finished(tenant, **input) -> Job:
    job = job_create(tenant=tenant, kind="selftest", input={"delay": 0, **input}, dispatch=False)
    job_execute(job_id=job.id)
    job.refresh_from_db()
    return job


def test_the_list_filters_by_tenant_kind_and_status(superuser_client, tenant, other_tenant):
    ok, failed = finished(tenant, steps=2), finished(other_tenant, steps=2, fail_at=1)
    page = superuser_client.get("/admin/jobs/job/").content.decode()
    assert "acme" in page and "globex" in page and "<progress" in page
    by_status = superuser_client.get("/admin/jobs/job/?status=failed").content.decode()
    assert str(failed.pk) in by_status and str(ok.pk) not in by_status
    by_tenant = superuser_client.get(f"/admin/jobs/job/?tenant__id__exact={tenant.pk}")
    assert str(ok.pk) in by_tenant.content.decode()
    assert superuser_client.get("/admin/jobs/job/?kind=selftest").status_code == 200


def test_a_job_page_shows_its_error_and_events(superuser_client, tenant):
    job = finished(tenant, steps=2, fail_at=2)
    page = superuser_client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert "Failed at step 2 as asked." in page
    assert "job.progress" in page and "job.failed" in page
    assert 'name="events-0-seq"' not in page  # events are shown, not editable


def test_cancel_and_retry_actions(superuser_client, tenant):
    queued = job_create(tenant=tenant, kind="selftest", dispatch=False)
    superuser_client.post("/admin/jobs/job/", {"action": "cancel", "_selected_action": [queued.pk]})
    queued.refresh_from_db()
    assert queued.status == "cancelled"

    superuser_client.post("/admin/jobs/job/", {"action": "retry", "_selected_action": [queued.pk]})
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.cancel_requested_at) == ("queued", 0, None)
    assert queued.events.order_by("seq").last().payload["message"] == "Retried by root."


def test_a_tenant_admin_sees_and_acts_on_their_tenants_jobs_only(
    tenant_admin_client, tenant, other_tenant
):
    mine, theirs = finished(tenant, steps=1), finished(other_tenant, steps=1, fail_at=1)
    listing = tenant_admin_client.get("/admin/jobs/job/").content.decode()
    assert str(mine.pk) in listing and str(theirs.pk) not in listing
    assert "globex" not in listing  # not even in the tenant filter
    assert tenant_admin_client.get(f"/admin/jobs/job/{theirs.pk}/change/").status_code == 302
    tenant_admin_client.post(
        "/admin/jobs/job/", {"action": "retry", "_selected_action": [theirs.pk]}
    )
    theirs.refresh_from_db()
    assert theirs.status == "failed"


def test_jobs_are_not_added_from_the_admin(superuser_client):
    assert superuser_client.get("/admin/jobs/job/add/").status_code == 403


def test_progress_shows_as_a_bar(superuser_client, tenant):
    job = job_create(tenant=tenant, kind="selftest", dispatch=False)
    Progress(job).update(1, 4, step="a quarter")
    Job.objects.filter(pk=job.pk).update(progress=25)
    page = superuser_client.get("/admin/jobs/job/").content.decode()
    assert '<progress data-kk-progress value="25" max="100"' in page
