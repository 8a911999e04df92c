"""Evidence in the admin: upload a document (the same storing service as the API: hashed while
spooled, stored once per tenant, type sniffed), download it through the same short-lived links
the API hands out, and check its integrity. audits/admin adds attaching it to positions and
findings."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.display import badge
from core.errors import ApiError
from evidence.models import Attachment, Evidence, EvidenceDownload
from evidence.services import evidence_download_link, evidence_store, evidence_verify
from evidence.uploads import spool_fileobj
from projects.models import Project
from tenants.admin import ReadOnlyAdmin, admin_tenants, admin_user, scoped
from tenants.models import Tenant


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ["project", "line_key", "rule", "actor", "created_at"]
    readonly_fields = fields  # type: ignore[assignment]  # the stubs' field lists are invariant
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class UploadForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False)
    kind = forms.ChoiceField(choices=Evidence.Kind.choices, initial=Evidence.Kind.OTHER)
    file = forms.FileField()

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = admin_tenants(request)  # type: ignore[attr-defined]  # a choice field
        self.fields["project"].queryset = scoped(  # type: ignore[attr-defined]  # a choice field
            request, Project.objects.filter(deleted_at__isnull=True)
        ).order_by("name")

    def clean(self) -> dict:
        data = super().clean() or {}
        project, tenant = data.get("project"), data.get("tenant")
        if project is not None and tenant is not None and project.tenant_id != tenant.pk:
            self.add_error("project", "The project belongs to another of your tenants.")
        return data


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "tenant",
        "kind",
        "human_size",
        "content_type",
        "project",
        "created_at",
        "download",
    ]
    list_filter = ["kind", "text_status", "content_type", "tenant"]
    search_fields = ["name", "sha256", "tenant__slug"]
    list_select_related = ["tenant", "project"]
    exclude = ["text"]
    actions = ["verify_integrity"]
    inlines = [AttachmentInline]
    change_form_template = "admin/evidence/evidence/change_form.html"

    @admin.display(description="size", ordering="size")
    def human_size(self, obj: Evidence) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="")
    def download(self, obj: Evidence) -> str:
        url = reverse("admin:evidence_evidence_download", args=[obj.pk])
        return format_html('<a href="{}">download</a>', url)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("text")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Uploading is adding a document, through the service (add_view below).
        return request.user.has_perm("evidence.add_evidence")

    def get_urls(self) -> list:
        return [
            path(
                "<uuid:evidence_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="evidence_evidence_download",
            ),
            path(
                "<uuid:evidence_id>/verify/",
                self.admin_site.admin_view(self.verify_view),
                name="evidence_evidence_verify",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> Any:
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)
        initial = {"project": request.GET.get("project")} if request.GET.get("project") else {}
        if initial:
            project = scoped(request, Project.objects.all()).filter(pk=initial["project"]).first()
            initial = {"project": project, "tenant": project.tenant} if project else {}
        form = UploadForm(
            request.POST or None, request.FILES or None, request=request, initial=initial
        )
        if request.method == "POST" and form.is_valid():
            uploaded = form.cleaned_data["file"]
            upload = None
            try:
                tenant = form.cleaned_data["tenant"]
                # Refuses an oversize file; sent on to S3 as it is read, as an API upload is.
                upload = spool_fileobj(uploaded, name=uploaded.name, tenant_id=tenant.pk)
                stored = evidence_store(
                    tenant=tenant,
                    upload=upload,
                    kind=form.cleaned_data["kind"],
                    project=form.cleaned_data["project"],
                    uploaded_by=admin_user(request),
                )
            except ApiError as exc:  # empty, a type not allowed, over the storage quota
                messages.error(request, str(exc.detail))
            else:
                evidence = stored.evidence
                if stored.duplicate:
                    messages.info(request, f"The tenant has these bytes already: {evidence.name}.")
                else:
                    messages.success(request, f"Stored {evidence.name} ({evidence.sha256[:12]}…).")
                return HttpResponseRedirect(
                    reverse("admin:evidence_evidence_change", args=[evidence.pk])
                )
            finally:
                if upload is not None:
                    upload.close()
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a document",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/evidence/evidence/upload.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        evidence = self.get_object(request, object_id)
        extra = (
            {"evidence": evidence, "text_badge": badge(evidence.text_status)} if evidence else {}
        )
        extra.update(self.evidence_context(request, evidence) if evidence else {})
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def evidence_context(self, request: HttpRequest, evidence: Evidence) -> dict[str, Any]:
        """More for the document's page, from the apps above this one (audits: attaching)."""
        return {}

    def _evidence_or_none(self, request: HttpRequest, evidence_id: Any) -> Evidence | None:
        return self.get_queryset(request).filter(pk=evidence_id).first()

    def download_view(self, request: HttpRequest, evidence_id: Any) -> HttpResponse:
        """The API's download: a logged, short-lived link (presigned on S3, signed locally)."""
        evidence = self._evidence_or_none(request, evidence_id)
        if evidence is None:
            messages.error(request, "No such document.")
            return HttpResponseRedirect(reverse("admin:evidence_evidence_changelist"))
        link = evidence_download_link(
            evidence=evidence, user=admin_user(request), ip_address=request.META.get("REMOTE_ADDR")
        )
        response = HttpResponseRedirect(request.build_absolute_uri(link))
        response["Cache-Control"] = "no-store"
        return response

    def verify_view(self, request: HttpRequest, evidence_id: Any) -> HttpResponse:
        evidence = self._evidence_or_none(request, evidence_id)
        if evidence is not None and request.method == "POST":
            result = evidence_verify(evidence=evidence)
            if result.ok:
                messages.success(request, f"{evidence.name}: intact (SHA-256 and size match).")
            else:
                messages.error(
                    request, f"{evidence.name}: {result.status.upper()} ({result.detail})"
                )
        target = evidence.pk if evidence is not None else None
        if target is None:
            return HttpResponseRedirect(reverse("admin:evidence_evidence_changelist"))
        return HttpResponseRedirect(reverse("admin:evidence_evidence_change", args=[target]))

    @admin.action(description="Verify integrity (re-hash the stored objects)")
    def verify_integrity(self, request: HttpRequest, queryset: QuerySet) -> None:
        problems = [evidence_verify(evidence=evidence) for evidence in queryset.order_by("id")]
        problems = [result for result in problems if not result.ok]
        checked = queryset.count()
        if not problems:
            self.message_user(request, f"{checked} checked: all intact.", messages.SUCCESS)
            return
        for result in problems:
            self.message_user(
                request, f"{result.status.upper()}: {result.key} ({result.detail})", messages.ERROR
            )
        self.message_user(
            request, f"{checked} checked: {len(problems)} missing or corrupt.", messages.ERROR
        )


@admin.register(EvidenceDownload)
class EvidenceDownloadAdmin(ReadOnlyAdmin):
    list_display = ["evidence", "tenant", "user", "api_key", "ip_address", "created_at"]
    list_filter = ["created_at"]
    list_select_related = ["evidence", "tenant", "user", "api_key"]
    search_fields = ["evidence__name", "tenant__slug"]
