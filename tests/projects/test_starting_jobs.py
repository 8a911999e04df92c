"""One service per job-starting operation: the API, the admin action and the command get the
same checks and the same errors, and a refused start leaves nothing behind (no job, no file)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from jobs.models import Job
from jobs.services import job_create
from projects.services import project_archive
from tenants.models import Tenant
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db
CSV = b"Item,Code,Description,Unit,Quantity,Unit price\n1,A,Jama,m3,12,10\n"


@pytest.fixture
def superuser_client(client):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.login(username="root", password="pw-for-tests-only")
    return client


@pytest.fixture
def running_audit(project):
    """An exclusive job of the project, queued: imports and audits must wait for it."""
    return job_create(tenant=project.tenant, kind="audit_project", project=project, dispatch=False)


def stored_imports(tenant: Tenant) -> list[str]:
    """The files kept under the tenant's imports prefix (on local storage or S3)."""
    found, pending = [], [f"tenants/{tenant.id}/imports"]
    while pending:
        prefix = pending.pop()
        try:
            directories, files = default_storage.listdir(prefix)
        except FileNotFoundError:
            continue
        found += [f"{prefix}/{name}" for name in files]
        pending += [f"{prefix}/{name}" for name in directories]
    return found


class TestImportWhileAnAuditRuns:
    def test_the_api_answers_409_and_keeps_no_file(self, member, project, running_audit):
        upload = SimpleUploadedFile("b.csv", CSV)
        response = member.client.post(
            f"/api/v1/projects/{project.id}/imports/", {"file": upload}, format="multipart"
        )
        assert (response.status_code, response.json()["error"]["code"]) == (409, "job_conflict")
        assert Job.objects.filter(kind="import_budget").count() == 0
        assert stored_imports(project.tenant) == []

    def test_the_admin_action_shows_the_conflict_and_keeps_no_file(
        self, superuser_client, project, running_audit
    ):
        action = {"action": "import_budget_file", "_selected_action": [project.pk], "apply": "1"}
        upload = SimpleUploadedFile("b.csv", CSV)
        response = superuser_client.post(
            "/admin/projects/project/", {**action, "file": upload}, follow=True
        )
        assert response.status_code == 200
        assert "queued or running" in response.content.decode()
        assert Job.objects.filter(kind="import_budget").count() == 0
        assert stored_imports(project.tenant) == []

    def test_the_command_fails_with_the_same_message(
        self, tenant, project, running_audit, tmp_path
    ):
        path = tmp_path / "b.csv"
        path.write_bytes(CSV)
        with pytest.raises(CommandError, match="queued or running"):
            call_command("import_budget", tenant.slug, str(project.id), str(path))
        assert stored_imports(tenant) == []


class TestAuditOfAnArchivedProject:
    @pytest.fixture
    def archived(self, project, import_file):
        import_file(project, sample("budget-v1-en.csv"), "v1.csv")
        project.refresh_from_db()
        return project_archive(project=project)

    def test_the_api_refuses(self, member, archived):
        response = member.client.post(f"/api/v1/projects/{archived.id}/audits/", {})
        assert (response.status_code, response.json()["error"]["code"]) == (409, "project_archived")

    def test_the_admin_action_refuses_with_the_same_message(self, superuser_client, archived):
        action = {"action": "audit", "_selected_action": [archived.pk]}
        response = superuser_client.post("/admin/projects/project/", action, follow=True)
        assert "archived" in response.content.decode()
        assert not Job.objects.filter(kind="audit_project").exists()

    def test_the_command_refuses_too(self, archived):
        with pytest.raises(CommandError, match="archived"):
            call_command("audit_project", str(archived.id))
        assert not Job.objects.filter(kind="audit_project").exists()
