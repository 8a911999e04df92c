from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core.errors import ApiError
from jobs.models import Job, JobEvent
from jobs.registry import job_kinds
from jobs.services import job_cancel, job_retry
from tenants.admin import TenantScopedAdmin


class KindFilter(admin.SimpleListFilter):
    """The registered kinds (a plain field filter would list values from every tenant's rows)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind.name, kind.name) for kind in job_kinds()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class JobEventInline(admin.TabularInline):
    model = JobEvent
    fields = ["seq", "type", "payload", "created_at"]
    readonly_fields = fields
    ordering = ["seq"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(TenantScopedAdmin):
    list_display = [
        "kind",
        "tenant",
        "project",
        "status",
        "progress_bar",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["tenant", KindFilter, "status"]
    list_select_related = ["tenant", "project"]
    search_fields = ["=id", "kind", "tenant__slug"]
    date_hierarchy = "created_at"
    actions = ["cancel", "retry"]
    inlines = [JobEventInline]
    readonly_fields = [
        "id",
        "tenant",
        "project",
        "kind",
        "status",
        "queue",
        "progress_bar",
        "step",
        "error",
        "input",
        "result",
        "attempts",
        "exclusive",
        "created_by",
        "created_by_key",
        "created_at",
        "available_at",
        "dispatched_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "cancel_requested_at",
        "celery_task_id",
        "last_seq",
    ]
    fields = readonly_fields

    @admin.display(description="progress")
    def progress_bar(self, job: Job) -> str:
        return format_html(
            '<progress value="{}" max="100" title="{}"></progress> {}%',
            job.progress,
            job.step,
            job.progress,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs start from the API or from commands, never from a blank form

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

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
