"""The pages a project's admin page links to: importing a file, the diff between any two
versions, a version's reconciliation table, and the forms that revert, export and comment. Each
reads through the selectors and writes through the services the API uses; a refusal is a
message, never a 500."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.errors import ApiError
from jobs.admin import job_started_message
from projects import selectors
from projects.models import BudgetVersion, Position, Project
from projects.rows import CONTENT_FIELDS
from projects.services import comment_create, version_revert
from projects.services.exports import FORMATS, budget_export_start
from projects.services.imports import budget_import_start
from tenants.admin import admin_user

DIFF_PAGE_SIZE = 50
SECTION_CHOICES = 200


def project_url(project: Project) -> str:
    return reverse("admin:projects_project_change", args=[project.pk])


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV, XLSX (plain or the KROS, RTS and ASPE exports), UNIXML or GAEB DA XML."
    )


class DiffForm(forms.Form):
    from_ = forms.TypedChoiceField(label="From version", coerce=int)
    to = forms.TypedChoiceField(label="To version", coerce=int)
    kind = forms.MultipleChoiceField(
        choices=[(kind, kind) for kind in selectors.DIFF_KINDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    section = forms.CharField(required=False, max_length=500, label="Section starts with")
    page = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args: Any, numbers: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(n, f"Version {n}") for n in numbers]
        self.fields["from_"].choices = choices  # type: ignore[attr-defined]  # a choice field
        self.fields["to"].choices = choices  # type: ignore[attr-defined]  # a choice field

    def add_prefix(self, field_name: str) -> str:
        return "from" if field_name == "from_" else super().add_prefix(field_name)


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)
    positions = forms.CharField(
        required=False,
        max_length=2000,
        help_text="About positions (their numbers or line keys, separated by commas).",
    )


def import_view(model_admin: Any, request: HttpRequest, project: Project) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = budget_import_start(
                project=project,
                actor=request.user.get_username(),
                file=upload,
                filename=upload.name,
                created_by=admin_user(request),
            )
        except ApiError as exc:  # archived, another import or audit running, the job quota
            messages.error(request, f"{project}: {exc.detail}")
        else:
            job_started_message(request, job, f"Import of {upload.name} into {project}")
            return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Import a budget into {project}",
        "explanation": f"The file becomes the next version of {project} when the import job "
        "finishes. A file with errors makes no version; the job lists the problems.",
        "project": project,
        "form": form,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/projects/project/import.html", context)


def diff_view(model_admin: Any, request: HttpRequest, project: Project) -> HttpResponse:
    numbers = list(
        BudgetVersion.objects.filter(project=project)
        .order_by("number")
        .values_list("number", flat=True)
    )
    data = request.GET.copy()
    if numbers:
        data.setdefault("to", str(numbers[-1]))
        data.setdefault("from", str(numbers[-2] if len(numbers) > 1 else numbers[-1]))
    form = DiffForm(data, numbers=numbers)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": f"Changes in {project}",
        "project": project,
        "form": form,
        "opts": model_admin.model._meta,
        "fields": CONTENT_FIELDS,
        "sections": _sections(project),
    }
    if numbers and form.is_valid():
        values = form.cleaned_data
        kinds = tuple(
            k for k in selectors.DIFF_KINDS if k in (values["kind"] or selectors.DIFF_KINDS)
        )
        page_number = values["page"] or 1
        counts = selectors.version_diff_counts(
            project=project, from_number=values["from_"], to_number=values["to"]
        )
        page = selectors.version_diff_page(
            tenant=project.tenant,
            project=project,
            from_number=values["from_"],
            to_number=values["to"],
            kinds=kinds,
            section=values["section"],
            offset=(page_number - 1) * DIFF_PAGE_SIZE,
            limit=DIFF_PAGE_SIZE,
        )
        pages = Paginator(range(page.total), DIFF_PAGE_SIZE)
        query = data.copy()
        query.pop("page", None)
        context.update(
            counts=counts,
            diff=page,
            page_number=min(page_number, max(pages.num_pages, 1)),
            pages=pages,
            query=query.urlencode(),
            from_number=values["from_"],
            to_number=values["to"],
        )
    elif not numbers:
        messages.info(request, "The project has no versions yet.")
    return TemplateResponse(request, "admin/projects/project/diff.html", context)


def _sections(project: Project) -> list[str]:
    rows = (
        Position.objects.filter(project=project, valid_to__isnull=True)
        .exclude(section="")
        .order_by("section")
        .values_list("section", flat=True)
        .distinct()
    )
    return list(rows[:SECTION_CHOICES])


def reconciliation_view(
    model_admin: Any, request: HttpRequest, project: Project, number: int
) -> HttpResponse:
    try:
        version = selectors.version_get(tenant=project.tenant, project=project, number=number)
    except ApiError as exc:
        messages.error(request, str(exc.detail))
        return HttpResponseRedirect(project_url(project))
    # The table the import keeps with the version (`BudgetVersion.reconciliation`, a list of
    # {object, part, declared, computed, difference}); versions written before it have none.
    rows = getattr(version, "reconciliation", None) or []
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Reconciliation of {project}, version {version.number}",
        "project": project,
        "version": version,
        "rows": rows,
        "declared_totals": getattr(version, "declared_totals", None) or {},
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/projects/project/reconciliation.html", context)


def revert_view(request: HttpRequest, project: Project, number: int) -> HttpResponse:
    if request.method == "POST":
        try:
            version = version_revert(
                project=project,
                number=number,
                created_by=admin_user(request),
                actor=request.user.get_username(),
            )
        except ApiError as exc:
            messages.error(request, str(exc.detail))
        else:
            messages.success(
                request, f"Version {version.number} created: the budget of version {number}."
            )
    return HttpResponseRedirect(project_url(project))


def export_view(request: HttpRequest, project: Project) -> HttpResponse:
    if request.method == "POST":
        version = request.POST.get("version") or None
        try:
            job = budget_export_start(
                project=project,
                format=request.POST.get("format", ""),
                version=int(version) if version and version.isdigit() else None,
                created_by=admin_user(request),
            )
        except ApiError as exc:
            messages.error(request, str(exc.detail))
        else:
            what = f"Export of {project} as {job.input['format'].upper()}"
            job_started_message(request, job, what)
            return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
    return HttpResponseRedirect(project_url(project))


def comment_view(request: HttpRequest, project: Project) -> HttpResponse:
    form = CommentForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            messages.error(request, "A comment needs a text.")
        else:
            references = [
                item.strip() for item in form.cleaned_data["positions"].split(",") if item.strip()
            ]
            try:
                comment_create(
                    project=project,
                    body=form.cleaned_data["body"],
                    positions=references,
                    created_by=admin_user(request),
                    actor=request.user.get_username(),
                )
            except ApiError as exc:
                messages.error(request, str(exc.detail))
            else:
                messages.success(request, "Comment posted.")
    return HttpResponseRedirect(project_url(project) + "#comments")


EXPORT_FORMATS = sorted(FORMATS)
