"""What audits adds to a document's admin page: attaching it to a position (by number or line key)
or to one of its findings, through `attachment_create` as the API does."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from audits.attachments import attachment_create
from audits.models import Finding
from core.errors import ApiError
from evidence.admin import EvidenceAdmin
from evidence.models import Evidence
from projects.models import Project
from tenants.admin import admin_user

admin.site.unregister(Evidence)


class AttachForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none())
    position = forms.CharField(
        max_length=512, required=False, help_text="A position's number or line key."
    )
    finding = forms.UUIDField(
        required=False, help_text="Or a finding's id (from the project's findings page)."
    )

    def __init__(self, *args: Any, evidence: Evidence, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.for_tenant(evidence.tenant).filter(  # type: ignore[attr-defined]  # a choice field
            deleted_at__isnull=True
        )
        if evidence.project_id:
            self.fields["project"].initial = evidence.project_id

    def clean(self) -> dict:
        data = super().clean() or {}
        if bool(data.get("position")) == bool(data.get("finding")):
            raise forms.ValidationError("Name either a position or a finding.")
        return data


@admin.register(Evidence)
class AttachableEvidenceAdmin(EvidenceAdmin):
    def get_urls(self) -> list:
        return [
            path(
                "<uuid:evidence_id>/attach/",
                self.admin_site.admin_view(self.attach_view),
                name="evidence_evidence_attach",
            ),
            *super().get_urls(),
        ]

    def evidence_context(self, request: HttpRequest, evidence: Evidence) -> dict[str, Any]:
        return {
            **super().evidence_context(request, evidence),
            "attach_form": AttachForm(evidence=evidence),
            "attach_url": reverse("admin:evidence_evidence_attach", args=[evidence.pk]),
        }

    def attach_view(self, request: HttpRequest, evidence_id: Any) -> HttpResponse:
        evidence = self._evidence_or_none(request, evidence_id)
        if evidence is None:
            return HttpResponseRedirect(reverse("admin:evidence_evidence_changelist"))
        back = HttpResponseRedirect(reverse("admin:evidence_evidence_change", args=[evidence.pk]))
        form = AttachForm(request.POST or None, evidence=evidence)
        if request.method != "POST":
            return back
        if not form.is_valid():
            messages.error(
                request,
                " ".join(str(error) for error in form.errors.get("__all__", []))
                or form.errors.as_text(),
            )
            return back
        project = form.cleaned_data["project"]
        finding = None
        if form.cleaned_data["finding"]:
            finding = (
                Finding.objects.for_tenant(evidence.tenant)
                .filter(project=project, pk=form.cleaned_data["finding"])
                .first()
            )
            if finding is None:
                messages.error(request, "No such finding in that project.")
                return back
        try:
            attachment, created = attachment_create(
                evidence=evidence,
                project=project,
                position=form.cleaned_data["position"] or None,
                finding=finding,
                created_by=admin_user(request),
                actor=request.user.get_username(),
            )
        except ApiError as exc:
            messages.error(request, str(exc.detail))
        else:
            what = f"{attachment.rule} on " if attachment.rule else ""
            state = "Attached" if created else "Already attached"
            messages.success(request, f"{state} to {what}position {attachment.line_key}.")
        return back
