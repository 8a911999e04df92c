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
    "404": "No such object in this tenant (in the path, the body or the cursor)",
    "409": "Conflicts with the current state",
    "413": "Request too large",
    "415": "Unsupported media type",
    "422": "Idempotency-Key reused with another request",
    "429": "Rate limit or quota exceeded",
    "503": "A dependency (storage) is unavailable",
}
_WRITE_METHODS = {"post", "put", "patch"}

# OpenAPI links: where an answer's id is the input of another operation (clients and the
# stateful fuzzer follow them). (operation, status) → link name → (target operation, parameters).
_JOB_LINKS = {
    "GetJob": ("jobs_retrieve", {"id": "$response.body#/id"}),
    "ListJobEvents": ("jobs_events_list", {"id": "$response.body#/id"}),
    "CancelJob": ("jobs_cancel_create", {"id": "$response.body#/id"}),
}
_PROJECT_ID = {"project_id": "$response.body#/id"}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("projects_create", "201"): {
        "GetProject": ("projects_retrieve", {"id": "$response.body#/id"}),
        "UpdateProject": ("projects_partial_update", {"id": "$response.body#/id"}),
        "ArchiveProject": ("projects_destroy", {"id": "$response.body#/id"}),
        "ImportBudget": ("projects_imports_create", _PROJECT_ID),
        "ExportBudget": ("projects_exports_create", _PROJECT_ID),
        "AuditProject": ("projects_audits_create", _PROJECT_ID),
        "Comment": ("projects_comments_create", _PROJECT_ID),
        "ListComments": ("comments_list", _PROJECT_ID),
        "ListPositions": ("positions_list", _PROJECT_ID),
        "ListVersions": ("versions_list", _PROJECT_ID),
        "ListFindings": ("findings_list", _PROJECT_ID),
        "ListWaivers": ("waivers_list", _PROJECT_ID),
        "ListReports": ("reports_list", _PROJECT_ID),
        "VerifyReports": ("reports_verify", _PROJECT_ID),
        "Diff": ("projects_diff_retrieve", _PROJECT_ID),
    },
    ("projects_imports_create", "202"): _JOB_LINKS,
    ("projects_exports_create", "202"): _JOB_LINKS,
    ("projects_audits_create", "202"): _JOB_LINKS,
    ("catalogs_create", "202"): _JOB_LINKS,
    ("jobs_create", "202"): _JOB_LINKS,
    ("evidence_create", "201"): {
        "GetEvidence": ("evidence_retrieve", {"id": "$response.body#/id"}),
        "DownloadEvidence": ("evidence_download_retrieve", {"id": "$response.body#/id"}),
        "ListAttachments": ("evidence_attachments_list", {"evidence_id": "$response.body#/id"}),
        "Attach": ("evidence_attachments_create", {"evidence_id": "$response.body#/id"}),
    },
    ("evidence_attachments_create", "201"): {
        "Detach": (
            "evidence_attachments_destroy",
            {"evidence_id": "$request.path.evidence_id", "id": "$response.body#/id"},
        ),
    },
    ("api_keys_create", "201"): {
        "GetApiKey": ("api_keys_retrieve", {"id": "$response.body#/id"}),
        "RevokeApiKey": ("api_keys_destroy", {"id": "$response.body#/id"}),
    },
}


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
    (in the envelope), that an optional query parameter sent empty counts as not sent, that a
    body which must name one of some alternatives must be sent, and the links from an answer's id
    to the operations it feeds."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = _ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            _require_a_body_of_alternatives(operation, schemas)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            statuses = ["401", "403", "429", "503"]
            # An unknown id is a 404 wherever it is: in the path, in a body (a field naming
            # another object) or as a cursor the server did not hand out.
            cursor = any(p["name"] == "cursor" for p in operation.get("parameters", []))
            if "{" in path or method in _WRITE_METHODS or cursor:
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
    _add_links(result)
    return result


def _require_a_body_of_alternatives(operation: dict, schemas: dict) -> None:
    """drf-spectacular requires a body only when its serializer has required fields; one whose
    fields are each optional but of which one set must be sent (core.fields'
    ChoiceOfFieldsSerializer: `oneOf` alternatives) cannot be left out either."""
    body = operation.get("requestBody")
    if body is None or body.get("required"):
        return
    for media in body.get("content", {}).values():
        reference = media.get("schema", {}).get("$ref", "")
        if schemas.get(reference.rsplit("/", 1)[-1], {}).get("oneOf"):
            body["required"] = True


def _add_links(result: dict) -> None:
    by_id = {
        operation["operationId"]: operation
        for operations in result.get("paths", {}).values()
        for operation in operations.values()
    }
    for (source, status_code), links in LINKS.items():
        response = by_id[source]["responses"][status_code]
        for name, (target, parameters) in links.items():
            assert target in by_id, f"link {name} of {source}: no operation {target}"
            response.setdefault("links", {})[name] = {
                "operationId": target,
                "parameters": parameters,
            }
