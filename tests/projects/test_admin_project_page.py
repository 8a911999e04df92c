"""A project's admin page and the pages it links to: versions, the diff between any two
versions, reconciliation, revert, export then download, comments and importing a file; each
through the API's services, another tenant's project out of reach."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job
from jobs.services import job_execute
from projects.models import BudgetVersion, Comment
from projects.services import project_archive
from tests.conftest import SAMPLE_DATA
from tests.evidence.test_admin import fetch
from tests.factories import ProjectFactory
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(project, import_file):
    import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
    import_file(project, sample("budget-v2-en.csv"), "budget-v2-en.csv")
    return project


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_page_shows_versions_jobs_comments_and_the_audit(root_client, imported):
    page = root_client.get(f"/admin/projects/project/{imported.pk}/change/").content.decode()
    assert 'id="versions"' in page and "budget-v2-en.csv" in page
    assert f"/admin/projects/project/{imported.pk}/diff/?from=1&amp;to=2" in page
    assert "Export XLSX" in page and "Revert to this" in page
    assert 'id="audit-form"' in page and 'id="comments"' in page
    assert "data-kk-job=" in page  # the import jobs, live
    assert "\u202fCZK" in page  # money with its currency


def test_the_diff_lists_field_changes_with_their_cost(root_client, imported):
    response = root_client.get(f"/admin/projects/project/{imported.pk}/diff/")
    diff = response.context["diff"]
    counts = response.context["counts"]
    assert (response.context["from_number"], response.context["to_number"]) == (1, 2)
    assert diff.total == counts.added_count + counts.removed_count + counts.modified_count
    assert len(diff.entries) == min(diff.total, 50)
    modified = root_client.get(f"/admin/projects/project/{imported.pk}/diff/?kind=modified")
    entries = modified.context["diff"].entries
    assert entries and {e["kind"] for e in entries} == {"modified"}
    assert all(e["changes"] for e in entries)
    assert modified.context["diff"].total == counts.modified_count
    page = modified.content.decode()
    assert "kk-change-from" in page and "kk-change-to" in page


SECTIONED_V1 = """Item,Section,Code,Description,Unit,Quantity,Unit price,Total
1,HSV / 1 Zemni prace,131201,Hloubeni jam,m3,10,100,1000
2,HSV / 1 Zemni prace,132201,Hloubeni ryh,m3,20,100,2000
3,HSV / 3 Svisle konstrukce,311231,Zdivo nosne,m3,5,3000,15000
4,PSV / 711 Izolace,711111,Penetrace,m2,40,50,2000
5,PSV / 711 Izolace,711141,Pas asfaltovy,m2,40,150,6000
"""
# Version 2: item 2 repriced (HSV / 1), item 3 removed (HSV / 3), item 5's quantity changed and
# item 6 added (PSV / 711), item 1 and 4 unchanged.
SECTIONED_V2 = """Item,Section,Code,Description,Unit,Quantity,Unit price,Total
1,HSV / 1 Zemni prace,131201,Hloubeni jam,m3,10,100,1000
2,HSV / 1 Zemni prace,132201,Hloubeni ryh,m3,20,120,2400
4,PSV / 711 Izolace,711111,Penetrace,m2,40,50,2000
5,PSV / 711 Izolace,711141,Pas asfaltovy,m2,45,150,6750
6,PSV / 711 Izolace,711142,Pas modifikovany,m2,10,200,2000
"""


def test_the_diff_filters_by_section(root_client, project, import_file):
    import_file(project, SECTIONED_V1.encode(), "sectioned-v1.csv")
    import_file(project, SECTIONED_V2.encode(), "sectioned-v2.csv")
    url = f"/admin/projects/project/{project.pk}/diff/"

    def changed(**filters: str) -> list[tuple[str, str]]:
        diff = root_client.get(url, filters).context["diff"]
        assert diff.total == len(diff.entries)
        return sorted(((e["after"] or e["before"])["code"], e["kind"]) for e in diff.entries)

    hsv = [("132201", "modified"), ("311231", "removed")]
    psv = [("711141", "modified"), ("711142", "added")]
    assert changed() == sorted(hsv + psv)
    assert changed(section="HSV") == hsv
    assert changed(section="HSV / 3") == [("311231", "removed")]
    assert changed(section="PSV / 711 Izolace") == psv
    assert changed(section="PSV", kind="added") == [("711142", "added")]
    assert changed(section="no such section") == []
    assert changed(section="%") == []  # a wildcard in the text is matched literally
    page = root_client.get(url, {"section": "HSV"}).content.decode()
    assert "Zdivo nosne" in page and "Pas modifikovany" not in page


def test_the_diff_pages(root_client, imported):
    url = f"/admin/projects/project/{imported.pk}/diff/"
    everything = root_client.get(url).context["diff"]
    assert everything.total > 50  # the samples differ in more rows than a page holds
    second = root_client.get(url, {"page": 2}).context["diff"]
    assert second.total == everything.total
    assert len(second.entries) == min(50, everything.total - 50)
    first_keys = {e["line_key"] for e in everything.entries}
    assert first_keys.isdisjoint(e["line_key"] for e in second.entries)


@pytest.mark.parametrize("query", ["?from=abc&to=2", "?from=9&to=1", "?page=0", "?kind=nope"])
def test_a_bad_diff_address_is_a_form_error(root_client, imported, query):
    response = root_client.get(f"/admin/projects/project/{imported.pk}/diff/{query}")
    assert response.status_code == 200
    assert response.context["form"].errors


def test_revert_makes_a_version_and_reverting_the_current_one_says_so(root_client, imported):
    url = f"/admin/projects/project/{imported.pk}/versions/1/revert/"
    response = root_client.post(url, follow=True)
    assert any("Version 3 created" in m for m in messages_of(response))
    version = BudgetVersion.objects.get(project=imported, number=3)
    assert (version.trigger, version.actor) == ("revert", "root")
    again = root_client.post(
        f"/admin/projects/project/{imported.pk}/versions/3/revert/", follow=True
    )
    assert any("current version already" in m for m in messages_of(again))


def test_export_starts_a_job_whose_page_downloads_the_file(root_client, imported):
    response = root_client.post(
        f"/admin/projects/project/{imported.pk}/export/",
        {"format": "csv", "version": "1"},
        follow=True,
    )
    job = Job.objects.get(kind="export_budget")
    assert response.redirect_chain[-1][0] == f"/admin/jobs/job/{job.pk}/change/"
    assert job.input == {"format": "csv", "version": 1}
    job_execute(job_id=job.id)
    job.refresh_from_db()
    page = root_client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    download = f"/admin/evidence/evidence/{job.result['evidence']}/download/"
    assert download in page
    link = root_client.get(download)
    assert link.status_code == 302
    body = fetch(root_client, link["Location"])
    assert b"342244137" in body  # a code of the sample budget


def test_a_bad_export_is_a_message(root_client, imported):
    response = root_client.post(
        f"/admin/projects/project/{imported.pk}/export/", {"format": "pdf"}, follow=True
    )
    assert any("format" in m for m in messages_of(response))
    assert not Job.objects.filter(kind="export_budget").exists()


def test_comments_are_posted_through_the_service(root_client, imported):
    url = f"/admin/projects/project/{imported.pk}/comments/"
    response = root_client.post(url, {"body": "Check row 3.", "positions": "3"}, follow=True)
    comment = Comment.objects.get(project=imported)
    assert (comment.body, comment.line_keys, comment.actor) == ("Check row 3.", ["3"], "root")
    assert "Check row 3." in response.content.decode()
    unknown = root_client.post(url, {"body": "x", "positions": "no-such-row"}, follow=True)
    assert any("no-such-row" in m for m in messages_of(unknown))
    empty = root_client.post(url, {"body": ""}, follow=True)
    assert any("needs a text" in m for m in messages_of(empty))
    project_archive(project=imported)
    archived = root_client.post(url, {"body": "late"}, follow=True)
    assert any("archived" in m for m in messages_of(archived))
    assert Comment.objects.filter(project=imported).count() == 1


def test_reconciliation_page(root_client, imported, import_file, tenant):
    response = root_client.get(f"/admin/projects/project/{imported.pk}/versions/2/reconciliation/")
    assert response.status_code == 200
    assert "no reconciliation table" in response.content.decode()  # a CSV declares no totals
    gaeb = ProjectFactory(tenant=tenant, name="GAEB")
    import_file(gaeb, SAMPLE_DATA / "gaeb" / "gaebphp_priced.x84", "gaebphp_priced.x84")
    rows = BudgetVersion.objects.get(project=gaeb, number=1).reconciliation
    assert rows
    page = root_client.get(f"/admin/projects/project/{gaeb.pk}/versions/1/reconciliation/")
    table = page.content.decode()
    assert 'id="reconciliation"' in table
    assert table.count('class="kk-agrees"') + table.count('class="kk-mismatch"') == len(rows)
    missing = root_client.get(
        f"/admin/projects/project/{imported.pk}/versions/9/reconciliation/", follow=True
    )
    assert any("not found" in m for m in messages_of(missing))


def test_importing_from_the_project_page(root_client, project):
    assert (
        'type="file"'
        in root_client.get(f"/admin/projects/project/{project.pk}/import/").content.decode()
    )
    upload = SimpleUploadedFile("budget-v1-en.csv", sample("budget-v1-en.csv"))
    response = root_client.post(
        f"/admin/projects/project/{project.pk}/import/", {"file": upload}, follow=True
    )
    job = Job.objects.get(kind="import_budget", project=project)
    assert response.redirect_chain[-1][0] == f"/admin/jobs/job/{job.pk}/change/"


def test_another_tenants_project_pages_are_not_found(tenant_staff_client, other_tenant):
    theirs = ProjectFactory(tenant=other_tenant)
    for suffix in ["diff/", "import/", "versions/1/reconciliation/", "findings/"]:
        response = tenant_staff_client.get(f"/admin/projects/project/{theirs.pk}/{suffix}")
        assert response.status_code == 404, suffix
    for suffix in ["export/", "comments/", "versions/1/revert/", "audit/"]:
        response = tenant_staff_client.post(
            f"/admin/projects/project/{theirs.pk}/{suffix}", {"format": "csv", "body": "x"}
        )
        assert response.status_code == 404, suffix
    assert not Comment.objects.exists() and not Job.objects.exists()
