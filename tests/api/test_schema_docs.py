"""The OpenAPI schema (Swagger UI) documents X-Tenant on every tenant operation and describes
each operation in its own words, never with a base class's docstring."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.generics import GenericAPIView
from rest_framework.views import APIView

from projects.apis.common import ProjectScopedApi
from tenants.scoping import TenantAPIView, TenantScopedGenericAPIView

BASES = [TenantAPIView, TenantScopedGenericAPIView, ProjectScopedApi, APIView, GenericAPIView]


@pytest.fixture(scope="module")
def operations() -> list[tuple[str, str, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method, path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_operation_documents_x_tenant(operations):
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in operations
        if not any(
            p["name"] == "X-Tenant" and p["in"] == "header" for p in operation.get("parameters", [])
        )
    ]
    assert missing == []


def test_every_operation_has_its_own_description(operations):
    inherited = {" ".join((base.__doc__ or "").split()) for base in BASES} - {""}
    bad = [
        f"{method.upper()} {path}"
        for method, path, operation in operations
        if not operation.get("description")
        or " ".join(operation["description"].split()) in inherited
    ]
    assert bad == []


def test_the_swagger_page_is_served(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200


def test_every_link_fills_the_path_parameters_of_an_operation(operations):
    by_id = {operation["operationId"]: operation for _, _, operation in operations}
    links = [
        (operation["operationId"], name, link)
        for _, _, operation in operations
        for response in operation["responses"].values()
        for name, link in response.get("links", {}).items()
    ]
    assert len(links) >= 25
    for source, name, link in links:
        target = by_id[link["operationId"]]
        wanted = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
        assert set(link["parameters"]) == wanted, (source, name)
        assert all(value.startswith("$") for value in link["parameters"].values())


def test_a_body_that_must_name_one_of_its_alternatives_must_be_sent():
    """Such a body's fields are each optional, but an absent body names none of them: the
    server refuses it (400), so the schema must not offer it (schemathesis sends what it offers)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    bodies = {
        f"{method.upper()} {path}": operation["requestBody"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if any(
            components[media["schema"]["$ref"].rsplit("/", 1)[-1]].get("oneOf")
            for media in operation.get("requestBody", {}).get("content", {}).values()
            if "$ref" in media.get("schema", {})
        )
    }
    assert "POST /api/v1/evidence/{evidence_id}/attachments/" in bodies
    assert {name: body.get("required") for name, body in bodies.items()} == dict.fromkeys(
        bodies, True
    )
