"""The tenant-isolation probe: walks every registered API route and calls it as another tenant.

For each route under /api/v1/ it fills path parameters with ids of the victim tenant's objects and
calls every method the view implements with the outsider's owner key:
- a route with an object in its path must answer 404 and change nothing;
- a list route must not mention any id of the victim's objects.
A route whose parameters the probe cannot fill is reported, not skipped, so that a new kind of route
makes the probe fail until it is taught the parameter (PARAM_MODELS).
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Model
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tenants.models import Tenant, TenantOwnedModel
from tests.factories import TENANT_OWNED_FACTORIES

API_PREFIX = "api/v1/"
# Which model a path parameter names, when it is not the view's own `pk`.
PARAM_MODELS: dict[str, str] = {
    "project_id": "projects.Project",
    "job_id": "jobs.Job",
    "evidence_id": "evidence.Evidence",
    "catalog_id": "catalogs.PriceCatalog",
    "report_id": "audits.AuditReport",
}
# Integer path parameters (a version number, say) get a value that exists for the victim.
INT_PARAM_VALUE = 1
_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
METHODS = ["get", "post", "put", "patch", "delete"]


@dataclass(frozen=True)
class Route:
    template: str
    view_class: type | None


def api_routes() -> list[Route]:
    def walk(patterns: list, prefix: str) -> Iterator[Route]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                template = prefix + str(pattern.pattern)
                yield Route(template, getattr(pattern.callback, "view_class", None))

    return [r for r in walk(get_resolver().url_patterns, "") if r.template.startswith(API_PREFIX)]


def tenant_owned_models() -> list[type[Model]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantOwnedModel) and not model._meta.abstract
    ]


def make_victim_objects(victim: Tenant) -> dict[type[Model], Model]:
    return {model: factory(tenant=victim) for model, factory in TENANT_OWNED_FACTORIES.items()}


def victim_snapshot(victim: Tenant) -> dict[str, list[dict]]:
    """Every row the victim owns, to prove a probe changed nothing."""
    return {
        model._meta.label: sorted(
            (model_to_dict(row) for row in model.objects.filter(tenant=victim)),
            key=lambda row: str(row.get("id")),
        )
        for model in tenant_owned_models()
    }


def _fill(route: Route, objects: dict[type[Model], Model]) -> tuple[str | None, str | None]:
    """(url, None) with every parameter filled, or (None, why not)."""
    url = route.template
    for match in _PARAM.finditer(route.template):
        converter, name = match.group("converter") or "str", match.group("name")
        if converter == "int":
            value = str(INT_PARAM_VALUE)
        else:
            model = (
                getattr(route.view_class, "model", None)
                if name == "pk"
                else apps.get_model(PARAM_MODELS[name])
                if name in PARAM_MODELS
                else None
            )
            if model is None or model not in objects:
                return None, f"cannot fill <{converter}:{name}>: teach tests/isolation.py"
            value = str(objects[model].pk)
        url = url.replace(match.group(0), value, 1)
    return "/" + url, None


def probe_isolation(
    *, outsider_client: APIClient, victim: Tenant, objects: dict[type[Model], Model]
) -> list[str]:
    """Failures found when the outsider calls every API route about the victim's objects."""
    failures: list[str] = []
    victim_ids = {str(victim.pk)} | {
        str(pk)
        for model in tenant_owned_models()
        for pk in model.objects.filter(tenant=victim).values_list("pk", flat=True)
    }
    before = victim_snapshot(victim)
    for route in api_routes():
        url, problem = _fill(route, objects)
        if url is None:
            failures.append(f"{route.template}: {problem}")
            continue
        has_params = url != "/" + route.template
        view_methods = [m for m in METHODS if hasattr(route.view_class, m)] or ["get"]
        for method in view_methods if has_params else ["get"]:
            if method == "get":
                response = outsider_client.get(url)
            else:
                response = getattr(outsider_client, method)(
                    url, data=json.dumps({}), content_type="application/json"
                )
            body = response.content.decode(errors="replace") if hasattr(response, "content") else ""
            if has_params and response.status_code != 404:
                failures.append(f"{method.upper()} {url}: {response.status_code}, expected 404")
            elif response.status_code >= 500:
                failures.append(f"{method.upper()} {url}: {response.status_code}")
            leaked = sorted(i for i in victim_ids if i in body)
            if leaked:
                failures.append(f"{method.upper()} {url}: shows the other tenant's ids {leaked}")
    if victim_snapshot(victim) != before:
        failures.append("the outsider's calls changed the victim's data")
    return failures
