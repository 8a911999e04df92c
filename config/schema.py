"""OpenAPI schema additions that hold for every endpoint: the error envelope, X-Tenant,
Idempotency-Key, and descriptions of each operation's own."""

import inspect

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter

from tenants.context import TENANT_HEADER
from tenants.idempotency import HEADER as IDEMPOTENCY_HEADER
from tenants.idempotency import KEY_PATTERN as IDEMPOTENCY_KEY_PATTERN
from tenants.scoping import TenantAPIView

_IDEMPOTENCY_KEY = OpenApiParameter(
    name=IDEMPOTENCY_HEADER,
    type={"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    required=False,
    description="Repeat the POST with the same key and body within 24 h to get the first answer "
    "again without a second effect; the same key with another body is 422.",
)

_TENANT = OpenApiParameter(
    name=TENANT_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The tenant (its slug) to act for, for a signed-in user who belongs to several "
    "(else the tenant chosen at /accounts/tenant/; `?tenant=<slug>` works too). API keys belong "
    "to one tenant and ignore it.",
)

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        }
    },
}
_ERROR_DESCRIPTIONS = {
    "400": "Invalid input; the message names the problem",
    "401": "No or unknown credentials",
    "403": "The role does not allow this",
    "404": "No such object in this tenant",
    "409": "Conflicts with the current state",
    "413": "Request too large",
    "415": "Unsupported media type",
    "422": "Idempotency-Key reused with another request",
    "429": "Rate limit or quota exceeded",
    "503": "A dependency (storage) is unavailable",
}
_WRITE_METHODS = {"post", "put", "patch"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the X-Tenant header on every tenant view's operation and
    the Idempotency-Key header on their POSTs; each operation is described by its own method's
    docstring (or its view's own), never by one inherited from a base class."""

    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        if isinstance(self.view, TenantAPIView):
            parameters = [*parameters, _TENANT]
            if self.method == "POST":
                parameters = [*parameters, _IDEMPOTENCY_KEY]
        return parameters

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's own
        handler = getattr(self.view, self.method.lower(), None)
        own = getattr(handler, "__doc__", None) or type(self.view).__dict__.get("__doc__")
        return inspect.cleandoc(own) if own else ""


def postprocess(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: every operation documents the errors it can answer
    (in the envelope), and that an optional query parameter sent empty counts as not sent."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            statuses = ["401", "403", "429", "503"]
            if "{" in path:
                statuses.append("404")
            if method in _WRITE_METHODS:
                statuses += ["400", "409", "413", "415", "422"]
            elif any(p.get("in") == "query" for p in operation.get("parameters", [])):
                statuses.append("400")
            responses = operation.setdefault("responses", {})
            for status_code in statuses:
                responses.setdefault(
                    status_code,
                    {
                        "description": _ERROR_DESCRIPTIONS[status_code],
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result
