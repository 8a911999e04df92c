from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from evidence.models import Attachment, Evidence, EvidenceDownload
from evidence.services import evidence_verify
from tenants.admin import ReadOnlyAdmin


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ["project", "line_key", "rule", "actor", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["name", "tenant", "kind", "human_size", "content_type", "project", "created_at"]
    list_filter = ["kind", "text_status", "content_type", "tenant"]
    search_fields = ["name", "sha256", "tenant__slug"]
    list_select_related = ["tenant", "project"]
    exclude = ["text"]
    actions = ["verify_integrity"]
    inlines = [AttachmentInline]

    @admin.display(description="size", ordering="size")
    def human_size(self, obj: Evidence) -> str:
        return filesizeformat(obj.size)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("text")

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
