"""No 5xx from input (issue 20): NUL characters, deep nesting, huge headers. These matter most on
PostgreSQL, whose text and jsonb columns refuse NUL (CI runs them there)."""

import json

import pytest

from tenants.models import IdempotencyKey
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(tenant):
    return ProjectFactory(tenant=tenant)


def post(actor, url: str, body: str, **headers):
    return actor.client.generic("POST", url, body, content_type="application/json", **headers)


class TestNulCharacters:
    def test_an_error_echoing_a_nul_with_an_idempotency_key_is_a_400_and_replays(
        self, member, project
    ):
        url = f"/api/v1/projects/{project.id}/exports/"
        body = json.dumps({"format": "\u0000"})
        first = post(member, url, body, HTTP_IDEMPOTENCY_KEY="nul-1")
        assert first.status_code == 400
        assert first.json()["error"]["code"] == "invalid"
        assert "\x00" not in first.content.decode()
        again = post(member, url, body, HTTP_IDEMPOTENCY_KEY="nul-1")
        assert (again.status_code, again.json()) == (400, first.json())
        assert IdempotencyKey.objects.filter(key="nul-1").exists()

    def test_without_a_key_too(self, member, project):
        response = post(member, f"/api/v1/projects/{project.id}/exports/", '{"format": "\\u0000"}')
        assert response.status_code == 400

    def test_a_nul_in_a_query_is_a_400(self, member):
        response = member.client.get("/api/v1/evidence/?q=%00")
        assert response.status_code == 400


class TestDeepNesting:
    @pytest.mark.parametrize("depth", [65, 1000, 100_000])
    def test_a_body_nested_too_deep_is_refused_before_it_is_decoded(self, member, depth):
        response = post(member, "/api/v1/projects/", "[" * depth + "]" * depth)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "parse_error"
        assert "nested deeper than 64 levels" in response.json()["error"]["message"]

    def test_brackets_inside_strings_do_not_count(self, member):
        name = '[{"\\\\' * 200
        response = post(member, "/api/v1/projects/", json.dumps({"name": name[:200]}))
        assert response.status_code == 201, response.content


class TestHugeHeaders:
    def test_a_huge_authorization_header_is_a_json_401(self, client):
        response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Api-Key " + "k" * 100_000)
        assert response.status_code == 401
        assert response.json()["error"]["code"]

    def test_a_huge_idempotency_key_is_a_json_400(self, member):
        response = post(
            member, "/api/v1/projects/", '{"name": "x"}', HTTP_IDEMPOTENCY_KEY="k" * 10_000
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"]
