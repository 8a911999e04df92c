"""The legacy migration as an admin operation: a dry run, the run and the verification of a legacy
installation on the server, each started as an import_legacy job (legacy_import_start, as
`manage.py import_legacy --job` does) and followed live on its job page. Superusers only: it
reads folders on the server."""

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.errors import ApiError
from jobs.admin import job_started_message
from legacy import sources as legacy
from legacy.services import legacy_import_start
from tenants.admin import admin_user
from tenants.models import Tenant

STEPS = {
    "dry_run": "Dry run: read and check, write nothing",
    "run": "Migrate",
    "verify": "Verify: compare the source with what was migrated",
}


class LegacyImportForm(forms.Form):
    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.all(),
        help_text="The tenant receiving a file store; for a JSONL export, the tenant the legacy "
        "tenant became (its slug is the legacy id's).",
    )
    mode = forms.ChoiceField(
        choices=[
            (legacy.STORE, "File store (one tenant's folders)"),
            (legacy.JSONL, "JSONL export"),
        ]
    )
    path = forms.CharField(max_length=1000, help_text="The folder on the server.")
    legacy_tenant = forms.CharField(
        max_length=200, required=False, help_text="JSONL only: the legacy tenant's id."
    )
    step = forms.ChoiceField(
        choices=list(STEPS.items()), widget=forms.RadioSelect, initial="dry_run"
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        path = data.get("path")
        if path and not Path(path).is_dir():
            self.add_error("path", f"No folder {path} on the server.")
        if data.get("mode") == legacy.JSONL:
            tenant, legacy_tenant = data.get("tenant"), data.get("legacy_tenant")
            if not legacy_tenant:
                self.add_error("legacy_tenant", "A JSONL export needs the legacy tenant's id.")
            elif tenant is not None and legacy.tenant_slug(legacy_tenant) != tenant.slug:
                self.add_error(
                    "legacy_tenant",
                    f"Legacy tenant {legacy_tenant!r} becomes "
                    f"{legacy.tenant_slug(legacy_tenant)!r}, not {tenant.slug!r}.",
                )
        return data


def legacy_import_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_superuser:
        raise PermissionDenied
    form = LegacyImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = legacy_import_start(
                tenant=data["tenant"],
                path=Path(data["path"]).resolve(),
                mode=data["mode"],
                legacy_tenant=data["legacy_tenant"],
                dry_run=data["step"] == "dry_run",
                verify=data["step"] == "verify",
                created_by=admin_user(request),
            )
        except ApiError as exc:
            messages.error(request, str(exc.detail))
        else:
            job_started_message(request, job, f"Legacy migration ({STEPS[data['step']]})")
            return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
    context = {
        **admin.site.each_context(request),
        "title": "Migrate a legacy installation",
        "form": form,
    }
    return TemplateResponse(request, "admin/legacy/import.html", context)
