"""The admin (browsing versions and positions, edits through the service, the import action) and
`manage.py import_budget`."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from jobs.models import Job
from jobs.services import job_execute
from projects.models import BudgetVersion, Position, Project
from tenants.models import Role
from tests.conftest import SAMPLE_DATA
from tests.factories import MembershipFactory, ProjectFactory
from tests.projects.conftest import sample

EXPECTED = json.loads((SAMPLE_DATA / "budget-expected.json").read_text())
pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.login(username="root", password="pw-for-tests-only")
    return client


@pytest.fixture
def imported(project, import_file):
    import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
    import_file(project, sample("budget-v2-en.csv"), "budget-v2-en.csv")
    return project


class TestAdmin:
    def test_projects_versions_and_positions_pages(self, superuser_client, imported):
        pages = [
            "/admin/projects/project/",
            f"/admin/projects/project/{imported.pk}/change/",
            "/admin/projects/budgetversion/",
            "/admin/projects/position/",
            f"/admin/projects/position/?project={imported.pk}",
            f"/admin/projects/position/?project={imported.pk}&version=1&audit_status=unaudited",
            f"/admin/projects/position/?project={imported.pk}&code=342&q=varianta",
            f"/admin/projects/position/?project={imported.pk}&version=all",
            "/admin/projects/comment/",
        ]
        for url in pages:
            assert superuser_client.get(url).status_code == 200, url
        listing = superuser_client.get(f"/admin/projects/position/?project={imported.pk}")
        assert "296 positions" in listing.content.decode()
        old = superuser_client.get(f"/admin/projects/position/?project={imported.pk}&version=1")
        assert "300 positions" in old.content.decode()

    def test_an_old_versions_row_is_read_only_and_versions_cannot_change(
        self, superuser_client, imported
    ):
        old = Position.objects.get(project=imported, line_key="1", valid_to=2)
        page = superuser_client.get(f"/admin/projects/position/{old.pk}/change/").content.decode()
        assert 'name="quantity"' not in page
        version = BudgetVersion.objects.get(project=imported, number=1)
        page = superuser_client.get(f"/admin/projects/budgetversion/{version.pk}/change/")
        assert 'name="summary"' not in page.content.decode()

    def test_an_admin_edit_makes_a_version(self, superuser_client, imported):
        row = Position.objects.get(project=imported, line_key="2", valid_to__isnull=True)
        form = {
            "code": row.code,
            "description": row.description,
            "category": row.category,
            "unit": row.unit,
            "quantity": "200",
            "unit_price": str(row.unit_price),
            "total_price": str(row.total_price),
        }
        response = superuser_client.post(
            f"/admin/projects/position/{row.pk}/change/", form, follow=True
        )
        assert response.status_code == 200
        assert "Version 3 created." in response.content.decode()
        version = BudgetVersion.objects.get(project=imported, number=3)
        assert (version.trigger, version.actor, version.modified_count) == ("edit", "root", 1)
        current = Position.objects.get(project=imported, line_key="2", valid_to__isnull=True)
        assert current.quantity == 200 and current.pk != row.pk

    def test_the_import_action_starts_the_same_job(self, superuser_client, project):
        action = {"action": "import_budget_file", "_selected_action": [project.pk]}
        form = superuser_client.post("/admin/projects/project/", action)
        assert 'type="file"' in form.content.decode()
        upload = SimpleUploadedFile("budget-v1.xlsx", sample("budget-v1.xlsx"))
        response = superuser_client.post(
            "/admin/projects/project/", {**action, "apply": "1", "file": upload}, follow=True
        )
        job = Job.objects.get(project=project, kind="import_budget")
        page = response.content.decode()
        assert "Import of budget-v1.xlsx" in page
        assert f'<a href="/admin/jobs/job/{job.pk}/change/">follow import_budget job' in page
        job_execute(job_id=job.id)
        project.refresh_from_db()
        assert project.position_count == 300
        assert project.current_version.actor == "root"

    def test_a_tenant_admin_sees_only_their_tenants_budgets(
        self, client, tenant, other_tenant, imported
    ):
        theirs = ProjectFactory(tenant=other_tenant, name="Globex HQ")
        user = MembershipFactory(tenant=tenant, role=Role.ADMIN).user
        user.is_staff = True
        user.save()
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="projects"))
        client.force_login(user)
        listing = client.get("/admin/projects/project/").content.decode()
        assert imported.name in listing and theirs.name not in listing
        assert client.get(f"/admin/projects/project/{theirs.pk}/change/").status_code == 302


class TestCommand:
    def test_it_imports_inline_with_a_progress_bar(self, tenant, capsys):
        call_command(
            "import_budget",
            tenant.slug,
            "Nová 12",
            str(SAMPLE_DATA / "budget-v1-cs.csv"),
            "--create",
        )
        captured = capsys.readouterr()
        out = captured.out
        assert re.search(r"\[#+\] 100%", captured.err)  # the bar, as run_job draws it
        assert f"Version 1 of Nová 12: 300 positions, total {EXPECTED['total_cost']} CZK" in out
        project = Project.objects.get(tenant=tenant, name="Nová 12")
        assert project.current_version.actor == "manage.py import_budget"
        job = Job.objects.get(project=project, kind="import_budget")
        assert (job.status, job.attempts) == ("succeeded", 1)

    def test_a_bad_file_fails_with_its_problems(self, tenant, project, tmp_path):
        bad = tmp_path / "bad.csv"
        bad.write_text("Code,Description,Unit,Quantity\nA,x,m,abc\n")
        with pytest.raises(CommandError) as excinfo:
            call_command("import_budget", tenant.slug, str(project.pk), str(bad))
        assert 'row 2, column "Quantity": "abc" is not a number' in str(excinfo.value)
        assert not BudgetVersion.objects.filter(project=project).exists()

    def test_unknown_tenant_project_or_file(self, tenant, project, tmp_path):
        with pytest.raises(CommandError, match="No tenant 'nope'"):
            call_command("import_budget", "nope", "x", "y")
        with pytest.raises(CommandError, match="No project 'Elsewhere'"):
            call_command("import_budget", tenant.slug, "Elsewhere", "y")
        with pytest.raises(CommandError, match="No file"):
            call_command("import_budget", tenant.slug, str(project.pk), str(tmp_path / "none"))
