"""Jobs in the admin: the list and the job page follow running jobs live (progress bar, step, log
lines, result) over the session websocket, polling the job's status address when the socket
fails; a job started from any admin page says so with a link to its page; staff start a selftest
here (the same start service as `POST /api/v1/jobs/`)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.display import badge_class, json_table
from core.errors import ApiError
from jobs.models import Job, JobEvent
from jobs.progress import job_event_data
from jobs.registry import job_kinds
from jobs.selectors import job_events_replay
from jobs.services import job_cancel, job_retry, job_start_direct
from tenants.admin import TenantScopedAdmin, admin_tenants, admin_user
from tenants.models import Tenant

EVENTS_SHOWN = 500
EVENTS_LISTED = 50
# What a finished job's result links to, by the result's key: the admin page of that object.
RESULT_LINKS = {"evidence": "admin:evidence_evidence_change"}


def job_url(job: Job) -> str:
    return reverse("admin:jobs_job_change", args=[job.pk])


def job_started_message(request: HttpRequest, job: Job, what: str) -> None:
    """`<what> started: <link to the job's page>`, where its progress shows live."""
    messages.success(
        request,
        format_html(
            '{} started: <a href="{}">follow {} job {}</a>.', what, job_url(job), job.kind, job.pk
        ),
    )


def live_progress(job: Job) -> str:
    """The job's status badge and progress bar, updated live by kalkula/live.js."""
    return format_html(
        '<span class="kk-progress" data-kk-job="{}" data-kk-tenant="{}" data-kk-status="{}" '
        'data-kk-seq="{}" data-kk-status-url="{}">'
        '<span data-kk-status-badge class="{}">{}</span>'
        '<progress data-kk-progress value="{}" max="100" title="{}"></progress>'
        '<span class="kk-percent" data-kk-percent>{}%</span></span>',
        job.pk,
        job.tenant.slug,
        job.status,
        job.last_seq,
        reverse("admin:jobs_job_live", args=[job.pk]),
        badge_class(job.status),
        job.status,
        job.progress,
        job.step,
        job.progress,
    )


def result_html(job: Job) -> str:
    """A finished job's result (or error) as tables, with links to what it made."""
    if job.status == Job.Status.FAILED and job.error:
        return format_html('<div class="kk-error">{}</div>', json_table(job.error))
    if not job.result:
        return ""
    links = []
    for key, url_name in RESULT_LINKS.items():
        if isinstance(job.result, dict) and job.result.get(key):
            url = reverse(url_name, args=[job.result[key]])
            links.append(format_html('<a class="button" href="{}">Open the {}</a>', url, key))
            if key == "evidence":
                download = reverse("admin:evidence_evidence_download", args=[job.result[key]])
                links.append(format_html('<a class="button" href="{}">Download</a>', download))
    return format_html(
        '<div class="kk-tools">{}</div>{}',
        format_html_join("", "{}", ((link,) for link in links)),
        json_table(job.result),
    )


class KindFilter(admin.SimpleListFilter):
    """The registered kinds (a plain field filter would list values from every tenant's rows)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind.name, kind.name) for kind in job_kinds()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class SelftestForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    steps = forms.IntegerField(min_value=1, max_value=1000, initial=10)
    delay = forms.FloatField(min_value=0, max_value=10, initial=0.5, help_text="Seconds per step.")
    fail_at = forms.IntegerField(
        min_value=1, required=False, help_text="Fail at this step (to see a failure)."
    )


@admin.register(Job)
class JobAdmin(TenantScopedAdmin):
    list_display = [
        "kind",
        "tenant",
        "project",
        "live",
        "step",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["tenant", KindFilter, "status"]
    list_select_related = ["tenant", "project"]
    search_fields = ["=id", "kind", "tenant__slug"]
    date_hierarchy = "created_at"
    actions = ["cancel", "retry"]
    change_form_template = "admin/jobs/job/change_form.html"
    change_list_template = "admin/jobs/job/change_list.html"
    read_only_form = True
    readonly_fields = [
        "id",
        "tenant",
        "project_link",
        "kind",
        "queue",
        "shown_input",
        "attempts",
        "created_by",
        "created_by_key",
        "created_at",
        "started_at",
        "finished_at",
        "cancel_requested_at",
    ]
    fields = readonly_fields  # type: ignore[assignment]  # the stubs' field lists are invariant

    @admin.display(description="progress", ordering="status")
    def live(self, job: Job) -> str:
        return live_progress(job)

    @admin.display(description="project")
    def project_link(self, job: Job) -> str:
        if job.project_id is None:
            return "–"
        url = reverse("admin:projects_project_change", args=[job.project_id])
        return format_html('<a href="{}">{}</a>', url, job.project)

    @admin.display(description="input")
    def shown_input(self, job: Job) -> str:
        return json_table(job.input)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs start from their own pages and actions, never from a blank form

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def get_urls(self) -> list:
        return [
            path(
                "<uuid:job_id>/live/",
                self.admin_site.admin_view(self.live_view),
                name="jobs_job_live",
            ),
            path(
                "start-selftest/",
                self.admin_site.admin_view(self.selftest_view),
                name="jobs_job_selftest",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        extra = {}
        if job is not None:
            events = list(JobEvent.objects.filter(job=job).order_by("-seq")[:EVENTS_SHOWN])[::-1]
            extra = {
                "job": job,
                "live": live_progress(job),
                "log_lines": [e.payload.get("message", "") for e in events if e.type == "job.log"],
                "events": events[-EVENTS_LISTED:],
                "result_html": result_html(job),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def live_view(self, request: HttpRequest, job_id: Any) -> JsonResponse:
        """The job's state and its events after `since`: what the page polls when the websocket
        is not available, and where it reads the rendered result of a finished job."""
        job = get_object_or_404(self.get_queryset(request).select_related("tenant"), pk=job_id)
        try:
            since = max(0, int(request.GET.get("since", 0)))
        except ValueError:
            since = 0
        events = job_events_replay(tenant=job.tenant, job_id=job.pk, since=since)[:EVENTS_SHOWN]
        return JsonResponse(
            {
                "id": str(job.pk),
                "status": job.status,
                "progress": job.progress,
                "step": job.step,
                "last_seq": job.last_seq,
                "finished": job.is_finished,
                "events": [
                    {
                        "seq": e["seq"],
                        "type": e["type"],
                        "data": job_event_data(job.pk, e["payload"]),
                    }
                    for e in events
                ],
                "result_html": str(result_html(job)) if job.is_finished else "",
            },
            json_dumps_params={"default": str},
        )

    def selftest_view(self, request: HttpRequest) -> HttpResponse:
        form = SelftestForm(request.POST or None)
        form.fields["tenant"].queryset = admin_tenants(request)  # type: ignore[attr-defined]  # a choice field
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = job_start_direct(
                    tenant=data["tenant"],
                    kind="selftest",
                    input={
                        "steps": data["steps"],
                        "delay": data["delay"],
                        "fail_at": data["fail_at"],
                    },
                    created_by=admin_user(request),
                )
            except ApiError as exc:
                messages.error(request, str(exc.detail))
            else:
                job_started_message(request, job, "Selftest")
                return HttpResponseRedirect(job_url(job))
        context = {
            **self.admin_site.each_context(request),
            "title": "Start a selftest",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/jobs/job/selftest.html", context)

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        jobs = [job for job in queryset if not job.is_finished]
        for job in jobs:
            job_cancel(job=job)
        self.message_user(request, f"Asked {len(jobs)} job(s) to stop.", messages.SUCCESS)

    @admin.action(description="Retry selected failed or cancelled jobs", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        retried = 0
        for job in queryset.filter(status__in=[Job.Status.FAILED, Job.Status.CANCELLED]):
            try:
                job_retry(job=job, by=request.user.get_username())
            except ApiError as exc:
                self.message_user(request, f"{job}: {exc.detail}", messages.ERROR)
            else:
                retried += 1
        self.message_user(request, f"Queued {retried} job(s) again.", messages.SUCCESS)
