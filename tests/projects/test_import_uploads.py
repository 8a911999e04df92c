"""Every uploaded byte takes one path (issue 20): budget and catalog imports go through evidence's
streaming upload (size limit, type sniffing, storage quota), their file is kept as a `budget` or
`catalog` document counted in the tenant's storage, and a failed import leaves nothing uncounted."""

import uuid

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from evidence.models import Evidence
from jobs.models import Job
from jobs.services import job_execute
from tests import servers
from tests.conftest import SAMPLE_DATA
from tests.evidence.helpers import csv_bytes, multipart, spool_files, upload

pytestmark = pytest.mark.django_db
CSV = (SAMPLE_DATA / "budget-v1-en.csv").read_bytes()
CATALOG = (SAMPLE_DATA / "catalog.csv").read_bytes()


def import_budget(actor, project, data: bytes, name: str = "budget.csv"):
    return actor.client.post(
        f"/api/v1/projects/{project.id}/imports/",
        {"file": SimpleUploadedFile(name, data)},
        format="multipart",
    )


def import_catalog(actor, data: bytes, name: str = "catalog.csv"):
    return actor.client.post(
        "/api/v1/catalogs/", {"file": SimpleUploadedFile(name, data)}, format="multipart"
    )


class TestLimits:
    def test_an_import_larger_than_the_upload_limit_is_413_and_keeps_nothing(
        self, member, admin, project, settings
    ):
        settings.EVIDENCE_MAX_UPLOAD_BYTES = 5000
        for response in (import_budget(member, project, CSV), import_catalog(admin, CATALOG)):
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "file_too_large"
        assert not Job.objects.exists()
        assert not Evidence.objects.exists()
        assert spool_files() == []

    def test_an_import_over_the_storage_quota_is_413(self, member, project):
        member.tenant.max_evidence_bytes = len(CSV) - 1
        member.tenant.save()
        response = import_budget(member, project, CSV)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "storage_quota_exceeded"
        assert not Job.objects.exists()

    def test_an_imports_type_is_sniffed(self, member, project):
        response = import_budget(member, project, b"\x7fELF\x02\x01\x01" + bytes(4000), "b.csv")
        assert response.status_code == 415
        assert not Job.objects.exists()


class TestCounted:
    def test_imports_are_documents_counted_in_the_tenants_storage(self, member, admin, project):
        budget = import_budget(member, project, CSV)
        catalog = import_catalog(admin, CATALOG)
        assert (budget.status_code, catalog.status_code) == (202, 202)
        kept = {e.kind: e for e in Evidence.objects.for_tenant(member.tenant)}
        assert set(kept) == {"budget", "catalog"}
        assert (kept["budget"].size, kept["budget"].project_id) == (len(CSV), project.id)
        assert kept["budget"].uploaded_by_key_id == member.api_key.id
        me = member.client.get("/api/v1/me").json()
        assert me["usage"]["evidence_bytes"]["used"] == len(CSV) + len(CATALOG)
        assert Job.objects.get(pk=budget.json()["id"]).input["evidence"] == str(kept["budget"].id)

    def test_a_failed_import_keeps_its_file_as_a_document_the_tenant_sees(self, member, project):
        response = import_budget(member, project, b"Code,Description,Unit,Quantity\n")
        job_execute(job_id=response.json()["id"])
        assert Job.objects.get(pk=response.json()["id"]).status == "failed"
        listed = member.client.get("/api/v1/evidence/", {"kind": "budget"}).json()["results"]
        assert [document["name"] for document in listed] == ["budget.csv"]

    def test_an_import_that_cannot_start_keeps_no_document(self, member, project):
        first = import_budget(member, project, CSV)
        assert first.status_code == 202  # queued, not run: the project is busy
        second = import_budget(member, project, CSV.replace(b"Concrete", b"Beton"))
        assert (second.status_code, second.json()["error"]["code"]) == (409, "job_conflict")
        assert Evidence.objects.for_tenant(member.tenant).count() == 1


class TestUploadedBy:
    def test_an_upload_made_with_an_api_key_names_the_key(self, member):
        response = upload(member.client, csv_bytes("keyed"))
        document = member.client.get(f"/api/v1/evidence/{response.json()['id']}/").json()
        assert document["uploaded_by"] == f"API key member key ({member.api_key.prefix})"
        assert document["uploaded_by_key"] == str(member.api_key.id)

    def test_an_upload_made_in_a_browser_names_the_user(self, session_member):
        user, client = session_member
        response = upload(client, csv_bytes("session"))
        document = client.get(f"/api/v1/evidence/{response.json()['id']}/").json()
        assert (document["uploaded_by"], document["uploaded_by_key"]) == (user.username, None)


def chunks(body: bytes, size: int = 7000):
    for start in range(0, len(body), size):
        yield body[start : start + size]


class TestChunkedUploads:
    """A body sent with Transfer-Encoding: chunked (no Content-Length), through gunicorn."""

    def test_a_chunked_upload_is_read_whole_and_the_limit_holds(self, private_postgres):
        env = private_postgres.env | {"EVIDENCE_MAX_UPLOAD_BYTES": "100000"}
        secret = servers.create_tenant_and_key(env, slug=f"chunked-{uuid.uuid4().hex[:8]}")
        headers = {"Authorization": f"Api-Key {secret}"}
        content = csv_bytes("chunked") * 200
        body, content_type = multipart(filename="chunked.csv", content=content)
        with servers.gunicorn(env) as server:
            response = requests.post(
                f"{server.url}/api/v1/evidence/",
                data=chunks(body),
                headers=headers | {"Content-Type": content_type},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            assert response.json()["size"] == len(content)

            big, content_type = multipart(filename="big.csv", content=content * 20)
            response = requests.post(
                f"{server.url}/api/v1/evidence/",
                data=chunks(big),
                headers=headers | {"Content-Type": content_type},
                timeout=30,
            )
            assert response.status_code == 413
            assert response.json()["error"]["code"] in ("request_too_large", "file_too_large")
