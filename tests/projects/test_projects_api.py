"""Projects, comments, and another tenant's budget data being a 404 everywhere."""

import pytest

from projects.models import Comment, Project
from tests.factories import BudgetVersionFactory, CommentFactory, PositionFactory, ProjectFactory

pytestmark = pytest.mark.django_db


class TestProjects:
    def test_create_list_and_read(self, member, viewer):
        response = member.client.post(
            "/api/v1/projects/", {"name": "Škola Brno", "currency": "EUR"}, format="json"
        )
        assert response.status_code == 201, response.content
        created = response.json()
        assert created | {"id": None, "created_at": None, "updated_at": None} == {
            "id": None,
            "name": "Škola Brno",
            "currency": "EUR",
            "status": "draft",
            "current_version": None,
            "position_count": 0,
            "total_cost": "0.00",
            "green_count": 0,
            "amber_count": 0,
            "red_count": 0,
            "created_at": None,
            "updated_at": None,
            "deleted_at": None,
        }
        listing = viewer.client.get("/api/v1/projects/").json()
        assert [p["id"] for p in listing["results"]] == [created["id"]]
        assert viewer.client.get(f"/api/v1/projects/{created['id']}/").json() == created

    def test_validation_and_roles(self, member, viewer):
        bad = member.client.post("/api/v1/projects/", {"name": "X", "currency": "czk"})
        assert bad.status_code == 400
        assert "ISO 4217" in bad.json()["error"]["message"]
        assert viewer.client.post("/api/v1/projects/", {"name": "X"}).status_code == 403

    def test_rename(self, member, tenant):
        project = ProjectFactory(tenant=tenant)
        response = member.client.patch(
            f"/api/v1/projects/{project.id}/", {"name": "Renamed"}, format="json"
        )
        assert response.json()["name"] == "Renamed"

    def test_delete_archives_and_hides(self, member, tenant):
        project = ProjectFactory(tenant=tenant)
        kept = ProjectFactory(tenant=tenant)
        assert member.client.delete(f"/api/v1/projects/{project.id}/").status_code == 204
        project.refresh_from_db()
        assert project.status == "archived" and project.deleted_at is not None
        listed = member.client.get("/api/v1/projects/").json()["results"]
        assert [p["id"] for p in listed] == [str(kept.id)]
        with_archived = member.client.get("/api/v1/projects/?archived=true").json()["results"]
        assert {p["id"] for p in with_archived} == {str(kept.id), str(project.id)}
        only_archived = member.client.get("/api/v1/projects/?archived=true&status=archived")
        assert [p["id"] for p in only_archived.json()["results"]] == [str(project.id)]
        assert member.client.get(f"/api/v1/projects/{project.id}/").status_code == 200
        change = member.client.patch(f"/api/v1/projects/{project.id}/", {"name": "Y"})
        assert change.status_code == 409
        assert Project.objects.filter(pk=project.pk).exists()


class TestComments:
    def test_post_and_list_comments_naming_positions(
        self, member, viewer, tenant, listen, django_capture_on_commit_callbacks
    ):
        project = ProjectFactory(tenant=tenant)
        position = PositionFactory(tenant=tenant, project=project, line_key="17")
        PositionFactory(tenant=tenant, project=project, line_key="18")
        listener = listen(project)
        with django_capture_on_commit_callbacks(execute=True):
            response = member.client.post(
                f"/api/v1/projects/{project.id}/comments/",
                {"body": "Množství neodpovídá výkresu.", "positions": [str(position.id), "18"]},
                format="json",
            )
        assert response.status_code == 201, response.content
        comment = response.json()
        assert comment["positions"] == ["17", "18"]
        assert comment["actor"] == f"API key member key ({member.api_key.prefix})"
        event = listener.receive()
        assert event["type"] == "comment.created"
        assert event["data"] | {"created_at": None} == {
            "id": comment["id"],
            "project": str(project.id),
            "body": "Množství neodpovídá výkresu.",
            "positions": ["17", "18"],
            "actor": comment["actor"],
            "created_at": None,
        }
        listing = viewer.client.get(f"/api/v1/projects/{project.id}/comments/").json()
        assert [c["id"] for c in listing["results"]] == [comment["id"]]

    def test_unknown_positions_are_refused(self, member, tenant, other_tenant):
        project = ProjectFactory(tenant=tenant)
        foreign = PositionFactory(tenant=other_tenant)
        response = member.client.post(
            f"/api/v1/projects/{project.id}/comments/",
            {"body": "?", "positions": ["99", str(foreign.id)]},
            format="json",
        )
        assert response.status_code == 404
        assert response.json()["error"]["details"] == {"positions": [str(foreign.id), "99"]}
        assert not Comment.objects.exists()

    def test_viewers_read_but_do_not_post(self, viewer, tenant):
        project = ProjectFactory(tenant=tenant)
        url = f"/api/v1/projects/{project.id}/comments/"
        assert viewer.client.post(url, {"body": "hi"}).status_code == 403
        assert viewer.client.get(url).status_code == 200


class TestIsolation:
    def test_another_tenants_budget_is_not_found(self, tenant, outsider):
        project = ProjectFactory(tenant=tenant)
        BudgetVersionFactory(tenant=tenant, project=project, number=1)
        position = PositionFactory(tenant=tenant, project=project)
        CommentFactory(tenant=tenant, project=project)
        base = f"/api/v1/projects/{project.id}"
        client = outsider.client
        for url in [
            f"{base}/",
            f"{base}/versions/",
            f"{base}/versions/1/",
            f"{base}/positions/",
            f"{base}/positions/{position.id}/",
            f"{base}/diff/?from=1&to=1",
            f"{base}/comments/",
        ]:
            assert client.get(url).status_code == 404, url
        assert (
            client.patch(f"{base}/positions/{position.id}/", {"quantity": "1"}).status_code == 404
        )
        assert client.post(f"{base}/versions/1/revert/").status_code == 404
        assert client.post(f"{base}/comments/", {"body": "x"}).status_code == 404
        assert client.delete(f"{base}/").status_code == 404
        assert client.get("/api/v1/projects/?archived=true").json()["results"] == []
        project.refresh_from_db()
        assert project.status == "draft"

    def test_a_position_of_another_project_is_not_found_under_this_one(self, tenant, member):
        here, there = ProjectFactory(tenant=tenant), ProjectFactory(tenant=tenant)
        position = PositionFactory(tenant=tenant, project=there)
        url = f"/api/v1/projects/{here.id}/positions/{position.id}/"
        assert member.client.get(url).status_code == 404
        assert member.client.patch(url, {"quantity": "1"}, format="json").status_code == 404
