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
