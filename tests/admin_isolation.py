"""The admin isolation probe: staff who administer one tenant walk every registered ModelAdmin of
the admin site with another tenant's ids, names and values, and nothing of that tenant may show.

For each ModelAdmin it opens the changelist plainly, with counts (facets), as a related-lookup
popup, with every list filter's parameter set to the victim's values (alone and beside the
victim's project), with the victim's names as the search, and the change, history and delete
pages of every victim row; and the autocomplete of every autocomplete field with the victim's
names. No answer may be a 5xx, and none may contain a marker of the victim: an id of one of its
rows, its slug or name, its users' names, or the distinctive text the probe writes into its rows
(markers that are part of the probe's own URL are not counted: the admin echoes its query string).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

from django.contrib import admin
from django.contrib.admin.filters import FieldListFilter
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse

from tenants.models import Membership, Tenant, TenantOwnedModel
from tests.factories import TENANT_OWNED_FACTORIES

# Fields the probe leaves as they are: keys, hashes and codes with a format of their own.
_KEEP = {
    "key",
    "sha256",
    "previous_sha256",
    "hashed_key",
    "prefix",
    "fingerprint",
    "request_hash",
    "celery_task_id",
    "currency",
    "content_type",
    "method",
    "kind",
    "type",
    "role",
    "rule",
    "line_key",
}


@dataclass
class Victim:
    tenant: Tenant
    objects: dict[type[Model], Model]
    markers: set[str] = field(default_factory=set)

    def row(self, model: type[Model]) -> Model | None:
        return self.objects.get(model)


def _victim_rows(tenant: Tenant) -> dict[type[Model], Model]:
    """A row of every tenant-owned model, all about one project and its version 1 where they
    have one, so that the project's pages and filters have everything to show."""
    objects: dict[type[Model], Model] = {}
    for model, factory in TENANT_OWNED_FACTORIES.items():
        names = {f.name: f.related_model for f in model._meta.get_fields() if f.many_to_one}
        kwargs: dict[str, Any] = {"tenant": tenant}
        for name, label in (
            ("project", "projects.Project"),
            ("version", "projects.BudgetVersion"),
            ("position", "projects.Position"),
        ):
            related = _model(label)
            if names.get(name) is related and related in objects and model is not related:
                kwargs[name] = objects[related]
        if model is _model("projects.BudgetVersion") or model is _model("projects.Position"):
            kwargs["project"] = objects[_model("projects.Project")]
        objects[model] = factory(**kwargs)
    return objects


def make_victim(tenant: Tenant) -> Victim:
    """The victim tenant's rows of every tenant-owned model, with distinctive text in them."""
    objects = _victim_rows(tenant)
    victim = Victim(tenant=tenant, objects=objects)
    victim.markers |= {str(tenant.pk), tenant.slug, tenant.name}
    number = 0
    for model in list(objects):
        for row in model.objects.filter(tenant=tenant):
            victim.markers.add(str(row.pk))
            changes = {}
            for model_field in model._meta.concrete_fields:
                if (
                    isinstance(model_field, models.CharField | models.TextField)
                    and not model_field.choices
                    and model_field.name not in _KEEP
                    and (model_field.max_length or 1000) >= 12
                ):
                    number += 1
                    changes[model_field.name] = f"zqv{number:05d}x"
            if changes:
                model.objects.filter(pk=row.pk).update(**changes)
                victim.markers |= set(changes.values())
            for name in changes:
                setattr(row, name, changes[name])
    user = objects[Membership].user
    user.username, user.email = "zqv-victim-user", "zqv-victim@victim.example"
    user.first_name, user.last_name = "Zqvfirst", "Zqvlast"
    user.save()
    victim.markers |= {user.username, user.email, "Zqvfirst", "Zqvlast"}
    for row in objects.values():
        row.refresh_from_db()
    return victim


def _victim_values(victim: Victim, model: type[Model], spec: Any, parameter: str) -> list[str]:
    """Values of the victim to put in a filter's parameter."""
    values: list[Any] = []
    related = getattr(getattr(spec, "field", None), "related_model", None)
    if related is Tenant:
        values.append(victim.tenant.pk)
    elif related is not None and related in victim.objects:
        values.append(victim.objects[related].pk)
    elif related is not None and issubclass(related, get_user_model()):
        values.append(victim.objects[Membership].user.pk)
    elif isinstance(spec, FieldListFilter):
        row = victim.row(model)
        if row is not None:
            values.append(getattr(row, spec.field.attname, None))
    else:  # a simple filter: whatever the victim has that such a parameter could name
        values.append(victim.tenant.pk)
        for cls in ("projects.Project", "catalogs.PriceCatalog"):
            row = victim.row(_model(cls))
            if row is not None:
                values.append(row.pk)
        row = victim.row(model)
        if row is not None:
            values.append(row.pk)
            base = parameter.split("__")[0]
            if hasattr(row, base):
                values.append(getattr(row, base))
    return [str(v) for v in values if v not in (None, "")]


def _model(label: str) -> type[Model]:
    from django.apps import apps

    return apps.get_model(label)


def probe_urls(staff: Any, victim: Victim) -> Iterator[str]:
    """Every admin address the probe opens."""
    factory = RequestFactory()
    project = victim.row(_model("projects.Project"))
    yield reverse("admin:index")
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        yield reverse("admin:app_list", args=[opts.app_label])
        yield changelist
        yield changelist + "?_facets=1"
        yield changelist + "?" + urlencode({"_popup": 1, "_to_field": "id"})
        for marker in (victim.tenant.slug, victim.tenant.name, *sorted(victim.markers)[:8]):
            yield changelist + "?" + urlencode({"q": marker})
        yield changelist + "?" + urlencode({"project": project.pk, "_facets": 1})
        yield changelist + "?" + urlencode({"tenant__id__exact": victim.tenant.pk})
        request = factory.get(changelist)
        request.user = staff
        request._messages = _NoMessages()
        cl = model_admin.get_changelist_instance(request)
        for spec in cl.filter_specs:
            for parameter in spec.expected_parameters():
                for value in _victim_values(victim, model, spec, parameter):
                    yield changelist + "?" + urlencode({parameter: value, "_facets": 1})
                    yield (
                        changelist
                        + "?"
                        + urlencode({parameter: value, "project": project.pk, "_facets": 1})
                    )
        row = victim.row(model) if issubclass(model, TenantOwnedModel) else None
        if model is Tenant:
            row = victim.tenant
        elif issubclass(model, get_user_model()):
            row = victim.objects[Membership].user
        if row is not None:
            for view in ("change", "history", "delete"):
                yield reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[row.pk])
        for field_name in model_admin.get_autocomplete_fields(request):
            for term in ("", "zqv", victim.tenant.slug):
                yield (
                    reverse("admin:autocomplete")
                    + "?"
                    + urlencode(
                        {
                            "app_label": opts.app_label,
                            "model_name": opts.model_name,
                            "field_name": field_name,
                            "term": term,
                        }
                    )
                )


# Which model a path parameter of an admin page names.
PARAM_MODELS = {
    "project_id": "projects.Project",
    "job_id": "jobs.Job",
    "evidence_id": "evidence.Evidence",
    "finding_id": "audits.Finding",
    "waiver_id": "audits.Waiver",
}
_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def page_urls(victim: Victim) -> Iterator[str]:
    """The pages every ModelAdmin adds (get_urls), their parameters filled with the victim's
    ids (a version number: 1). A parameter the probe cannot fill fails the probe: teach it."""
    for model_admin in admin.site._registry.values():
        for pattern in model_admin.get_urls():
            route = str(pattern.pattern)
            if not route or "<path:object_id>" in route or not _PARAM.search(route):
                continue
            url = route
            for match in _PARAM.finditer(route):
                converter, name = match.group("converter") or "str", match.group("name")
                if converter == "int":
                    value = "1"
                elif name in PARAM_MODELS:
                    value = str(victim.objects[_model(PARAM_MODELS[name])].pk)
                elif name == "id" and issubclass(model_admin.model, get_user_model()):
                    value = str(victim.objects[Membership].user.pk)  # a user's password page
                else:
                    raise AssertionError(f"{route}: cannot fill <{name}>, teach PARAM_MODELS")
                url = url.replace(match.group(0), value, 1)
            opts = model_admin.model._meta
            yield f"/admin/{opts.app_label}/{opts.model_name}/{url}"


def victim_snapshot(victim: Victim) -> dict[str, list]:
    from django.forms.models import model_to_dict

    return {
        model._meta.label: sorted(
            (model_to_dict(row) for row in model.objects.filter(tenant=victim.tenant)),
            key=lambda row: str(row.get("id")),
        )
        for model in victim.objects
    }


class _NoMessages:
    def add(self, *args: Any, **kwargs: Any) -> None:
        pass


def probe_admin_isolation(*, client: Client, staff: Any, victim: Victim) -> list[str]:
    failures = []
    before = victim_snapshot(victim)
    pages = list(page_urls(victim))
    for url in pages:
        response = client.post(url, {"reason": "probe", "body": "probe", "format": "csv"})
        if response.status_code >= 500:
            failures.append(f"POST {url}: {response.status_code}")
    if victim_snapshot(victim) != before:
        failures.append("the probe's POSTs changed the other tenant's data")
    for url in dict.fromkeys([*probe_urls(staff, victim), *pages]):
        # Followed, so that a message about the address (an object "does not exist") is shown
        # on this page, where the address's own markers are discounted, not on the next one.
        response = client.get(url, follow=True)
        if response.status_code >= 500:
            failures.append(f"GET {url}: {response.status_code}")
            continue
        content = b"".join(response.streaming_content) if response.streaming else response.content
        body = content.decode(errors="replace")
        echoed = unquote_plus(url)
        shown = sorted(m for m in victim.markers if m in body and m not in echoed)
        if shown:
            failures.append(f"GET {url}: shows the other tenant's {shown[:5]}")
    return failures
