"""No 5xx from input (issue 20): NUL characters, deep nesting, huge headers, made-up cursors. These
matter most on PostgreSQL, whose text and jsonb columns refuse NUL (CI runs them there)."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tenants.models import IdempotencyKey
from tests.factories import PriceCatalogFactory, ProjectFactory

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


def drf_cursor(query: str) -> str:
    """A cursor as DRF encodes one (base64 of `o=<offset>&r=<0|1>&p=<position>`), unsigned."""
    return base64.b64encode(query.encode()).decode()


@pytest.mark.django_db  # no server-side transaction to see: the faster kind
class TestCursors:
    """A cursor's position goes into the query as a value of the list's ordering field: a made-up
    one (a date that is none, an integer out of range, a NUL) made the database refuse the query,
    a 500. Only cursors the server handed out, for that list, are taken; others are 404."""

    @pytest.mark.parametrize("position", ["garbage", "99999999999999999999", "a%00b", "2020-01-01"])
    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/projects/",
            "/api/v1/catalogs/",
            "/api/v1/api-keys/",
            "/api/v1/request-log/",
            "/api/v1/projects/{project}/versions/",
            "/api/v1/projects/{project}/comments/",
        ],
    )
    def test_a_made_up_cursor_is_a_404_never_a_500(self, owner, project, path, position):
        url = path.format(project=project.id)
        response = owner.client.get(url, {"cursor": drf_cursor(f"o=0&r=0&p={position}")})
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "invalid_cursor"

    def test_the_next_link_works_and_a_changed_or_borrowed_cursor_does_not(self, owner, tenant):
        for number in range(3):
            ProjectFactory(tenant=tenant, name=f"p{number}")
            PriceCatalogFactory(tenant=tenant, name=f"c{number}")
        first = owner.client.get("/api/v1/projects/", {"page_size": 2}).json()
        second = owner.client.get(first["next"])
        assert second.status_code == 200
        assert len(first["results"]) + len(second.json()["results"]) == 3
        cursor = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
        changed = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
        assert owner.client.get("/api/v1/projects/", {"cursor": changed}).status_code == 404
        # A catalog list's cursor holds a name where projects hold a date.
        catalogs = owner.client.get("/api/v1/catalogs/", {"page_size": 1}).json()
        borrowed = parse_qs(urlsplit(catalogs["next"]).query)["cursor"][0]
        assert owner.client.get("/api/v1/projects/", {"cursor": borrowed}).status_code == 404


@pytest.mark.django_db
class TestPageSize:
    """`page_size` is an integer from 1 to 500: int() also took " 5", "+5", "5_0" and "٥"."""

    @pytest.mark.parametrize("size", [" 5", "+5", "5_0", "\u0665", "5.0", "0", "501", "-1"])
    def test_anything_but_digits_in_range_is_a_400(self, member, size):
        response = member.client.get("/api/v1/projects/", {"page_size": size})
        assert response.status_code == 400
        assert "page_size" in response.json()["error"]["details"]

    @pytest.mark.parametrize("size", ["", "1", "500", "050"])
    def test_digits_in_range_or_nothing_are_taken(self, member, size):
        assert member.client.get("/api/v1/projects/", {"page_size": size}).status_code == 200
