import pytest

from evidence.models import Evidence
from evidence.services import evidence_extract_text
from tests.conftest import SAMPLE_DATA
from tests.evidence.helpers import (
    PNG,
    URL,
    csv_bytes,
    pdf_bytes,
    run_extraction_jobs,
    upload,
    xlsx_bytes,
)
from tests.factories import EvidenceFactory, ProjectFactory


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def stored(client, content: bytes, name: str, **fields) -> str:
    """Upload, then run the text extraction the upload queued."""
    response = upload(client, content, name=name, **fields)
    assert response.status_code == 201, response.content
    run_extraction_jobs()
    return response.json()["id"]


@pytest.mark.django_db
class TestListing:
    def test_detail(self, member, viewer, tenant):
        evidence = EvidenceFactory(tenant=tenant, name="site-photo.txt", kind="photo")
        response = viewer.client.get(f"{URL}{evidence.pk}/")
        assert response.status_code == 200
        assert response.json() == {
            "id": str(evidence.pk),
            "name": "site-photo.txt",
            "sha256": evidence.sha256,
            "size": evidence.size,
            "content_type": "text/plain",
            "kind": "photo",
            "project": None,
            "uploaded_by": None,
            "uploaded_by_key": None,
            "created_at": response.json()["created_at"],
            "text_status": "pending",
        }

    def test_filters_by_project_and_kind_and_pages_with_a_cursor(
        self, viewer, tenant, django_assert_max_num_queries
    ):
        project = ProjectFactory(tenant=tenant)
        in_project = [EvidenceFactory(tenant=tenant, project=project) for _ in range(3)]
        drawing = EvidenceFactory(tenant=tenant, kind="drawing")

        assert set(ids(viewer.client.get(URL, {"project": project.pk}))) == {
            str(e.pk) for e in in_project
        }
        assert ids(viewer.client.get(URL, {"kind": "drawing"})) == [str(drawing.pk)]

        seen = []
        page = viewer.client.get(URL, {"page_size": 2})
        while True:
            seen += ids(page)
            if page.json()["next"] is None:
                break
            with django_assert_max_num_queries(4):
                page = viewer.client.get(page.json()["next"])
        assert sorted(seen) == sorted(str(e.pk) for e in [*in_project, drawing])

    def test_bad_filters_are_named(self, viewer):
        response = viewer.client.get(URL, {"kind": "selfie", "project": "nope"})
        assert response.status_code == 400
        assert set(response.json()["error"]["details"]) == {"kind", "project"}

    def test_another_tenants_documents_are_not_listed(self, outsider, tenant):
        EvidenceFactory(tenant=tenant)
        assert ids(outsider.client.get(URL)) == []


@pytest.mark.django_db
class TestContentSearch:
    @pytest.fixture
    def documents(self, member):
        cs_csv = "Č.;Kód;Popis;MJ\n1;001;Železobeton základů;m3\n2;002;Bednění;m2\n"
        xml = b"<?xml version='1.0'?><budget><item><text>Hydroizolace spodni stavby</text>"
        xml += b"</item></budget>"
        return {
            "csv": stored(member.client, cs_csv.encode("cp1250"), "rozpocet-cs.csv"),
            "txt": stored(
                member.client,
                b"Minutes of the site meeting: scaffolding.\n",
                "minutes.txt",
            ),
            "xml": stored(member.client, xml, "export.xml"),
            "xlsx": stored(
                member.client,
                xlsx_bytes(["Kód", "Popis"], ["A1", "Dlažba"]),
                "budget.xlsx",
            ),
            "pdf": stored(
                member.client, pdf_bytes("Invoice for Geotextile delivery"), "invoice.pdf"
            ),
            "png": stored(member.client, PNG, "photo.png"),
        }

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("železobeton", "csv"),
            ("Scaffolding", "txt"),
            ("hydroizolace", "xml"),
            ("dlažba", "xlsx"),
            ("geotextile", "pdf"),
        ],
    )
    def test_it_finds_documents_by_their_content(self, viewer, documents, query, found):
        assert ids(viewer.client.get(URL, {"q": query})) == [documents[found]]

    def test_it_finds_documents_by_name(self, viewer, documents):
        assert ids(viewer.client.get(URL, {"q": "rozpocet"})) == [documents["csv"]]
        assert ids(viewer.client.get(URL, {"q": ".PNG"})) == [documents["png"]]

    def test_extraction_records_what_it_did(self, documents):
        statuses = dict(Evidence.objects.values_list("name", "text_status"))
        assert statuses == {
            "rozpocet-cs.csv": "extracted",
            "minutes.txt": "extracted",
            "export.xml": "extracted",
            "budget.xlsx": "extracted",
            "invoice.pdf": "extracted",
            "photo.png": "not_applicable",
        }

    def test_another_tenants_documents_are_not_found(self, outsider, documents):
        assert ids(outsider.client.get(URL, {"q": "scaffolding"})) == []


@pytest.mark.django_db
class TestExtraction:
    @pytest.mark.parametrize(
        "path",
        [
            SAMPLE_DATA / "budget-v1.xlsx",
            SAMPLE_DATA / "budget-v1.unixml.xml",
            SAMPLE_DATA / "catalog.csv",
        ],
    )
    def test_the_shared_sample_files(self, member, path):
        evidence_id = stored(member.client, path.read_bytes(), path.name)
        evidence = Evidence.objects.get(pk=evidence_id)
        assert evidence.text_status == "extracted"
        assert len(evidence.text) > 1000

    def test_a_broken_document_is_marked_failed_with_the_reason(self, member, tenant):
        broken = b"%PDF-1.4\n" + b"\x00garbage" * 100
        evidence = EvidenceFactory(tenant=tenant, content=broken, name="broken.pdf")
        assert evidence.content_type == "application/pdf"

        evidence_extract_text(evidence=evidence)

        evidence.refresh_from_db()
        assert evidence.text_status == "failed"
        assert evidence.text_error.startswith("Not a readable PDF")

    def test_unsafe_xml_is_refused(self, tenant):
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>'
        )
        evidence = EvidenceFactory(tenant=tenant, content=bomb, name="bomb.xml")

        evidence_extract_text(evidence=evidence)

        assert evidence.text_status == "failed"
        assert "unsafe XML" in evidence.text_error

    def test_the_text_kept_is_bounded(self, tenant, settings):
        settings.EVIDENCE_TEXT_MAX_CHARS = 100
        evidence = EvidenceFactory(tenant=tenant, content=csv_bytes() * 1000, name="long.csv")

        evidence_extract_text(evidence=evidence)

        assert evidence.text_status == "extracted"
        assert len(evidence.text) == 100
