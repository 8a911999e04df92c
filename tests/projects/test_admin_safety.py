"""The admin never answers 500 for bad input: malformed query parameters give the list with an
error message, and an action or a save the services refuse (a conflict, an archived project, a
quota) gives the message, changes nothing and leaves no file behind."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job
from jobs.services import job_create
from projects.models import Position
from projects.services import project_archive
from tests.factories import PositionFactory
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/admin/projects/position/?project=not-a-uuid", "project='not-a-uuid'"),
        ("/admin/projects/position/?version=abc", "version='abc'"),
        ("/admin/projects/position/?version=0", "version='0'"),
        ("/admin/projects/position/?version=99999999999999999999", "version="),
        ("/admin/audits/finding/?project=not-a-uuid", "project='not-a-uuid'"),
        ("/admin/audits/waiver/?project=123", "project='123'"),
        ("/admin/audits/auditreport/?project=x", "project='x'"),
        ("/admin/jobs/job/?tenant__id__exact=abc", "tenant__id__exact"),
        ("/admin/jobs/job/?created_at__year=abc", "created_at__year"),
        ("/admin/projects/budgetversion/?number=abc", "number"),
        ("/admin/projects/project/?nonsense=1", "nonsense"),
        ("/admin/projects/project/?tenant__apikey__hashed_key__startswith=a", "tenant__apikey"),
        ("/admin/evidence/evidence/?size__gt=many", "size__gt"),
    ],
)
def test_a_bad_parameter_gives_the_list_with_a_message(root_client, url, named):
    response = root_client.get(url)
    assert response.status_code == 200, url
    assert any(named in message for message in messages_of(response)), messages_of(response)
    assert "cl" in response.context  # the changelist itself, not an error page


def test_a_page_past_the_end_gives_the_list(root_client):
    response = root_client.get("/admin/projects/project/?p=999")
    assert response.status_code == 200


def imports_left(tenant) -> list[str]:
    """The files kept for imports of the tenant (an empty folder may stay on local storage)."""

    def files(folder: str) -> list[str]:
        try:
            folders, names = default_storage.listdir(folder)
        except FileNotFoundError:
            return []
        return [folder + name for name in names] + [
            path for sub in folders for path in files(f"{folder}{sub}/")
        ]

    return files(f"tenants/{tenant.id}/imports/")


def import_action(client, project, **extra):
    upload = SimpleUploadedFile("budget-v1-en.csv", sample("budget-v1-en.csv"))
    return client.post(
        "/admin/projects/project/",
        {
            "action": "import_budget_file",
            "_selected_action": [project.pk],
            "apply": "1",
            "file": upload,
            **extra,
        },
        follow=True,
    )


def test_importing_while_an_audit_runs_says_so(root_client, project, tenant):
    audit = job_create(tenant=tenant, kind="audit_project", project=project, dispatch=False)
    response = import_action(root_client, project)
    assert response.status_code == 200
    assert any("audit_project job" in m and str(audit.id) in m for m in messages_of(response))
    assert list(Job.objects.filter(kind="import_budget")) == []
    assert imports_left(tenant) == []


def test_importing_into_an_archived_project_says_so(root_client, project, tenant):
    project_archive(project=project)
    response = import_action(root_client, project)
    assert response.status_code == 200
    assert "archived" in response.content.decode()
    assert not Job.objects.filter(kind="import_budget").exists()
    assert imports_left(tenant) == []


def test_auditing_a_project_without_a_budget_says_so(root_client, project):
    response = root_client.post(
        "/admin/projects/project/",
        {"action": "audit", "_selected_action": [project.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert any("no budget yet" in m for m in messages_of(response))


def test_a_refused_position_edit_is_a_message(root_client, project, tenant):
    row = PositionFactory(tenant=tenant, project=project)
    form = {
        "code": row.code,
        "description": row.description,
        "category": "",
        "unit": row.unit,
        "quantity": "1" + "0" * 16,  # more digits than a quantity is stored with
        "unit_price": "1",
        "total_price": "",
    }
    response = root_client.post(f"/admin/projects/position/{row.pk}/change/", form, follow=True)
    assert response.status_code == 200
    assert Position.objects.filter(project=project).count() == 1
