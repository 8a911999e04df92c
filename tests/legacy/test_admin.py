"""The legacy migration as an admin operation (superusers only): a dry run, the run and the
verification, each started as the same import_legacy job `import_legacy --job` queues."""

import pytest

from jobs.models import Job
from jobs.services import job_execute
from projects.models import Project
from tests.conftest import SAMPLE_DATA

pytestmark = pytest.mark.django_db
STORE = SAMPLE_DATA / "legacy-store" / "data" / "projects"
URL = "/admin/operations/legacy-import/"


def start(client, tenant, step, path=STORE):
    return client.post(
        URL, {"tenant": tenant.pk, "mode": "store", "path": str(path), "step": step}, follow=True
    )


def test_dry_run_then_run_then_verify(root_client, tenant):
    assert root_client.get(URL).status_code == 200
    assert "Migrate a legacy installation" in root_client.get("/admin/").content.decode()
    for step, expected in (
        ("dry_run", (True, False)),
        ("run", (False, False)),
        ("verify", (False, True)),
    ):
        response = start(root_client, tenant, step)
        job = Job.objects.filter(kind="import_legacy").order_by("-created_at").first()
        assert response.redirect_chain[-1][0] == f"/admin/jobs/job/{job.pk}/change/"
        assert (job.input["dry_run"], job.input["verify"]) == expected
        assert job.input["path"] == str(STORE.resolve())
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert job.status == "succeeded", job.error
        if step == "dry_run":
            assert not Project.objects.filter(tenant=tenant).exists()
    assert Project.objects.filter(tenant=tenant).exists()


def test_a_folder_that_is_not_there_is_a_form_error(root_client, tenant, tmp_path):
    response = start(root_client, tenant, "run", path=tmp_path / "nothing")
    assert "No folder" in response.content.decode()
    assert not Job.objects.exists()


def test_only_superusers_migrate(tenant_staff_client, tenant):
    assert tenant_staff_client.get(URL).status_code == 403
    assert start(tenant_staff_client, tenant, "run").status_code == 403
    assert (
        "Migrate a legacy installation" not in tenant_staff_client.get("/admin/").content.decode()
    )
