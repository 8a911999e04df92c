"""Documents in the admin: uploaded through the same storing service as the API, downloaded
through the same short-lived links (staff are not refused as the API refuses them), checked for
integrity, attached to positions; another tenant's out of reach."""

import pytest
import requests
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from evidence.models import Attachment, Evidence, EvidenceDownload
from tests.factories import EvidenceFactory, PositionFactory, ProjectFactory

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def upload(client, tenant, content=PDF, name="offer.pdf", **extra):
    return client.post(
        "/admin/evidence/evidence/add/",
        {"tenant": tenant.pk, "kind": "other", "file": SimpleUploadedFile(name, content), **extra},
        follow=True,
    )


def fetch(client, location: str) -> bytes:
    """The bytes behind a download link: a signed Django URL, or an S3 presigned one."""
    if location.startswith(("/", "http://testserver/")):
        answer = client.get(location)
        assert answer.status_code == 200, answer
        return b"".join(answer.streaming_content)
    answer = requests.get(location, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.content


def download(client, evidence) -> bytes:
    link = client.get(f"/admin/evidence/evidence/{evidence.pk}/download/")
    assert link.status_code == 302, link
    return fetch(client, link["Location"])


def test_upload_then_download_the_same_bytes(tenant_staff_client, tenant):
    project = ProjectFactory(tenant=tenant)
    response = upload(tenant_staff_client, tenant, project=project.pk)
    evidence = Evidence.objects.get(tenant=tenant)
    assert response.redirect_chain[-1][0] == f"/admin/evidence/evidence/{evidence.pk}/change/"
    assert (evidence.content_type, evidence.project, evidence.size) == (
        "application/pdf",
        project,
        len(PDF),
    )
    assert download(tenant_staff_client, evidence) == PDF
    assert EvidenceDownload.objects.filter(
        evidence=evidence, user=tenant_staff_client.user
    ).exists()
    again = upload(tenant_staff_client, tenant, name="copy.pdf")
    assert any("has these bytes already" in m for m in messages_of(again))
    assert Evidence.objects.filter(tenant=tenant).count() == 1


def test_a_refused_upload_is_a_message(tenant_staff_client, tenant):
    empty = upload(tenant_staff_client, tenant, content=b"", name="empty.pdf")
    assert empty.status_code == 200
    assert "empty" in empty.content.decode().lower()
    script = upload(tenant_staff_client, tenant, content=b"\x7fELF\x02\x01\x01" + b"\0" * 64)
    assert any("not allowed" in m or "type" in m for m in messages_of(script))
    assert not Evidence.objects.exists()


def test_upload_for_another_tenant_is_refused(tenant_staff_client, other_tenant):
    response = upload(tenant_staff_client, other_tenant)
    assert "Select a valid choice" in response.content.decode()
    assert not Evidence.objects.exists()


def test_a_superuser_downloads_any_tenants_document(root_client, other_tenant):
    evidence = EvidenceFactory(tenant=other_tenant, content=b"bytes of globex")
    assert download(root_client, evidence) == b"bytes of globex"


def test_another_tenants_document_is_not_downloaded(tenant_staff_client, other_tenant):
    theirs = EvidenceFactory(tenant=other_tenant)
    response = tenant_staff_client.get(f"/admin/evidence/evidence/{theirs.pk}/download/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/evidence/evidence/"
    assert not EvidenceDownload.objects.exists()


def test_integrity_check_from_the_page(root_client, tenant):
    evidence = EvidenceFactory(tenant=tenant)
    url = f"/admin/evidence/evidence/{evidence.pk}/verify/"
    assert any("intact" in m for m in messages_of(root_client.post(url, follow=True)))
    with default_storage.open(evidence.key, "wb") as stored:
        stored.write(b"tampered")
    assert any("CORRUPT" in m for m in messages_of(root_client.post(url, follow=True)))


def test_attach_a_document_to_a_position(root_client, tenant):
    project = ProjectFactory(tenant=tenant)
    PositionFactory(tenant=tenant, project=project, position_number="7", line_key="7")
    evidence = EvidenceFactory(tenant=tenant, project=project)
    page = root_client.get(f"/admin/evidence/evidence/{evidence.pk}/change/").content.decode()
    assert 'id="attach"' in page and 'id="download-link"' in page
    url = f"/admin/evidence/evidence/{evidence.pk}/attach/"
    root_client.post(url, {"project": project.pk, "position": "7"}, follow=True)
    assert Attachment.objects.get(evidence=evidence).line_key == "7"
    unknown = root_client.post(url, {"project": project.pk, "position": "99"}, follow=True)
    assert any("'99'" in m for m in messages_of(unknown))
    neither = root_client.post(url, {"project": project.pk}, follow=True)
    assert any("either a position or a finding" in m for m in messages_of(neither))


def test_an_oversize_upload_is_a_message(tenant_staff_client, tenant, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 10
    response = upload(tenant_staff_client, tenant)
    assert response.status_code == 200
    assert any("larger than the limit" in m for m in messages_of(response))
    assert not Evidence.objects.exists()
