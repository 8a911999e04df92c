"""Documents attached to budget positions and to their audit findings."""

from decimal import Decimal

import pytest

from audits.models import Finding, Recommendation
from evidence.models import Attachment
from projects.models import Position
from tests.factories import BudgetVersionFactory, EvidenceFactory, PositionFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def position(tenant) -> Position:
    project = ProjectFactory(tenant=tenant)
    BudgetVersionFactory(tenant=tenant, project=project, number=1)
    return PositionFactory(tenant=tenant, project=project, position_number="7", line_key="7")


@pytest.fixture
def invoice(tenant):
    return EvidenceFactory(tenant=tenant, name="faktura-7.txt")


def finding_on(position: Position) -> Finding:
    return Finding.objects.create(
        tenant=position.tenant,
        project=position.project,
        version=position.project.versions.get(number=1),
        position=position,
        line_key=position.line_key,
        rule="cost.deviation",
        role="cost",
        recommendation=Recommendation.RED,
        confidence=Decimal("0.9"),
        reasoning="Unit price 250 is far above the catalog price 182.",
    )


def attach(actor, evidence, **body):
    return actor.client.post(f"/api/v1/evidence/{evidence.id}/attachments/", body, format="json")


def test_a_document_attaches_to_a_position_by_id_or_line_key_once(member, position, invoice):
    by_id = attach(member, invoice, project=str(position.project_id), position=str(position.id))
    assert by_id.status_code == 201, by_id.content
    assert by_id.json()["line_key"] == "7"
    assert by_id.json()["rule"] == ""

    again = attach(member, invoice, project=str(position.project_id), position="7")
    assert again.status_code == 200
    assert again.json()["id"] == by_id.json()["id"]
    assert Attachment.objects.count() == 1

    listed = member.client.get(f"/api/v1/evidence/{invoice.id}/attachments/").json()["results"]
    assert [a["id"] for a in listed] == [by_id.json()["id"]]


def test_the_position_lists_its_documents_across_versions(member, tenant, position, invoice):
    other = EvidenceFactory(tenant=tenant, name="unrelated.txt")
    attach(member, invoice, project=str(position.project_id), position="7")
    # A later version replaces the row; the line key, and so the attachment, stays.
    Position.objects.filter(pk=position.pk).update(valid_to=2)
    PositionFactory(
        tenant=tenant, project=position.project, valid_from=2, position_number="7", line_key="7"
    )

    response = member.client.get(
        "/api/v1/evidence/", {"project": str(position.project_id), "line_key": "7"}
    )
    assert response.status_code == 200
    names = [e["name"] for e in response.json()["results"]]
    assert names == ["faktura-7.txt"]
    assert other.name not in names


def test_a_document_attaches_to_a_finding(member, position, invoice):
    finding = finding_on(position)
    response = attach(member, invoice, finding=str(finding.id))
    assert response.status_code == 201, response.content
    assert (response.json()["line_key"], response.json()["rule"]) == ("7", "cost.deviation")
    assert response.json()["project"] == str(position.project_id)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"position": "7"}, 400, "invalid"),
        ({"project": "{project}", "position": "no-such-line"}, 404, "unknown_positions"),
        ({"project": "{project}", "position": "7", "finding": "{finding}"}, 400, "invalid"),
    ],
)
def test_a_bad_attachment_is_refused_naming_the_problem(
    member, position, invoice, body, status, code
):
    values = {"project": str(position.project_id), "finding": str(finding_on(position).id)}
    body = {key: value.format(**values) for key, value in body.items()}
    response = attach(member, invoice, **body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Attachment.objects.exists()


def test_viewers_read_attachments_but_cannot_attach(viewer, position, invoice):
    response = attach(viewer, invoice, project=str(position.project_id), position="7")
    assert response.status_code == 403
    assert viewer.client.get(f"/api/v1/evidence/{invoice.id}/attachments/").status_code == 200


def test_detaching_removes_the_link_not_the_document(member, position, invoice):
    created = attach(member, invoice, project=str(position.project_id), position="7").json()
    response = member.client.delete(f"/api/v1/evidence/{invoice.id}/attachments/{created['id']}/")
    assert response.status_code == 204
    assert not Attachment.objects.exists()
    assert member.client.get(f"/api/v1/evidence/{invoice.id}/").status_code == 200


def test_another_tenants_documents_positions_and_findings_are_out_of_reach(
    member, outsider, position, invoice
):
    theirs = EvidenceFactory(tenant=outsider.tenant)
    assert attach(member, theirs, project=str(position.project_id), position="7").status_code == (
        404
    )
    # Our document onto their position or finding: their objects do not exist for us.
    their_position = PositionFactory(tenant=outsider.tenant)
    BudgetVersionFactory(tenant=outsider.tenant, project=their_position.project, number=1)
    response = attach(
        member, invoice, project=str(their_position.project_id), position=str(their_position.id)
    )
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    response = attach(member, invoice, finding=str(finding_on(their_position).id))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")

    ours = attach(member, invoice, project=str(position.project_id), position="7").json()
    assert outsider.client.get(f"/api/v1/evidence/{invoice.id}/attachments/").status_code == 404
    gone = outsider.client.delete(f"/api/v1/evidence/{invoice.id}/attachments/{ours['id']}/")
    assert gone.status_code == 404
    assert Attachment.objects.filter(pk=ours["id"]).exists()
