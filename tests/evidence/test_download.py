import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import signing
from django.core.files.storage import default_storage
from django.test import Client

from evidence.models import Evidence, EvidenceDownload
from evidence.selectors import DOWNLOAD_TOKEN_SALT
from tests.evidence.helpers import URL, csv_bytes, upload

NAME = 'Rozpočet 2024 "final".csv'
# What Django sends for a name that is not plain ASCII: the exact name in RFC 5987 form.
DISPOSITION = "attachment; filename*=utf-8''Rozpo%C4%8Det%202024%20%22final%22.csv"


def wait_until_refused(fetch, *, timeout: float = 6.0):
    """Call `fetch` until it answers 403 (links expire on a one-second clock), at most `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        response = fetch()
        if response.status_code == 403 or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


@pytest.fixture
def local_storage(settings, tmp_path):
    """Files on local disk for this test, whatever the run uses."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


@pytest.mark.django_db
class TestLocalDownload:
    def test_it_redirects_to_a_signed_link_that_streams_the_file_under_its_name(
        self, member, viewer, tenant, local_storage
    ):
        content = csv_bytes("download")
        evidence_id = upload(member.client, content, name=NAME).json()["id"]

        response = viewer.client.get(f"{URL}{evidence_id}/download/")

        assert response.status_code == 302
        assert response["Cache-Control"] == "no-store"
        link = urlsplit(response["Location"])
        assert link.path.startswith("/evidence-files/")
        downloaded = Client().get(link.path)  # no credentials: the link is the credential
        assert downloaded.status_code == 200
        assert b"".join(downloaded.streaming_content) == content
        assert downloaded["Content-Disposition"] == DISPOSITION
        assert downloaded["Content-Type"] == "text/csv"
        assert downloaded["Content-Length"] == str(len(content))
        log = EvidenceDownload.objects.for_tenant(tenant).get()
        assert (str(log.evidence_id), log.api_key, log.ip_address) == (
            evidence_id,
            viewer.api_key,
            "127.0.0.1",
        )

    def test_an_expired_link_is_refused(self, member, tenant, local_storage, settings):
        settings.EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS = 1
        evidence_id = upload(member.client, csv_bytes("expiring")).json()["id"]
        path = urlsplit(member.client.get(f"{URL}{evidence_id}/download/")["Location"]).path

        response = wait_until_refused(lambda: Client().get(path))

        assert response.status_code == 403
        assert response.json()["error"]["code"] == "link_expired"

    def test_a_tampered_link_is_refused(self, member, tenant, local_storage):
        evidence_id = upload(member.client, csv_bytes("tampered")).json()["id"]
        path = urlsplit(member.client.get(f"{URL}{evidence_id}/download/")["Location"]).path

        response = Client().get(path[:-3] + "abc")

        assert response.status_code == 403
        assert response.json()["error"]["code"] == "invalid_link"

    def test_a_link_is_good_only_for_the_tenant_it_was_issued_for(
        self, member, tenant, other_tenant, local_storage
    ):
        evidence_id = upload(member.client, csv_bytes("tenant")).json()["id"]
        # Even a correctly signed link (which only the server can make) naming another tenant
        # finds nothing: the document is looked up by (tenant, id).
        token = signing.dumps(
            {"tenant": str(other_tenant.pk), "evidence": evidence_id}, salt=DOWNLOAD_TOKEN_SALT
        )
        assert Client().get(f"/evidence-files/{token}").status_code == 404

    def test_a_document_missing_from_storage_is_a_404_not_a_500(self, member, local_storage):
        body = upload(member.client, csv_bytes("gone")).json()
        path = urlsplit(member.client.get(f"{URL}{body['id']}/download/")["Location"]).path
        default_storage.delete(Evidence.objects.get(pk=body["id"]).key)

        assert Client().get(path).status_code == 404


@pytest.mark.django_db
def test_another_tenants_download_is_a_404_and_logs_nothing(member, outsider, tenant):
    evidence_id = upload(member.client, csv_bytes("private")).json()["id"]

    response = outsider.client.get(f"{URL}{evidence_id}/download/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not EvidenceDownload.objects.exists()


@pytest.mark.django_db
class TestPresignedDownload:
    def test_it_redirects_to_a_presigned_url_valid_five_minutes_with_the_name(
        self, member, tenant, s3_storage
    ):
        content = csv_bytes("s3")
        evidence_id = upload(member.client, content, name=NAME).json()["id"]

        response = member.client.get(f"{URL}{evidence_id}/download/")

        assert response.status_code == 302
        link = response["Location"]
        assert link.startswith(s3_storage.endpoint_url + "/")
        query = parse_qs(urlsplit(link).query)
        assert query["X-Amz-Expires"] == ["300"]
        downloaded = requests.get(link, timeout=10)
        assert downloaded.status_code == 200
        assert downloaded.content == content
        assert downloaded.headers["Content-Disposition"] == DISPOSITION
        assert downloaded.headers["Content-Type"] == "text/csv"
        assert EvidenceDownload.objects.for_tenant(tenant).count() == 1

    def test_the_s3_server_refuses_an_expired_link(self, member, s3_storage, settings):
        settings.EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS = 1
        evidence_id = upload(member.client, csv_bytes("s3-expiring")).json()["id"]
        link = member.client.get(f"{URL}{evidence_id}/download/")["Location"]

        response = wait_until_refused(lambda: requests.get(link, timeout=10))

        assert response.status_code == 403
        assert "<Code>AccessDenied</Code><Message>Request has expired" in response.text

    def test_the_s3_server_refuses_a_tampered_link(self, member, s3_storage):
        evidence_id = upload(member.client, csv_bytes("s3-tampered")).json()["id"]
        link = member.client.get(f"{URL}{evidence_id}/download/")["Location"]
        other_name = link.replace("filename", "filenamX", 1)

        response = requests.get(other_name, timeout=10)

        assert response.status_code == 403
        assert "SignatureDoesNotMatch" in response.text
