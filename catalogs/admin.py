"""Admin for price catalogs, their items and the alerts catalog updates raise. Items change only
through imports (the same import_catalog job the API starts); alerts are acknowledged through the
service."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from catalogs.models import Alert, CatalogEdition, CatalogItem, PriceCatalog
from catalogs.services import alert_acknowledge, catalog_import_start
from core.display import badge, money
from core.errors import ApiError
from jobs.admin import job_started_message
from tenants.admin import ReadOnlyAdmin, TenantScopedAdmin, admin_user


class CatalogImportForm(forms.Form):
    file = forms.FileField(help_text="CSV or XLSX with code, description, unit and unit price.")


def _items_url(catalog_id: object) -> str:
    return reverse("admin:catalogs_catalogitem_changelist") + f"?catalog__id__exact={catalog_id}"


@admin.register(PriceCatalog)
class PriceCatalogAdmin(TenantScopedAdmin):
    list_display = ["name", "tenant", "currency", "version", "item_count", "items", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "tenant__slug"]
    list_select_related = ["tenant"]
    actions = ["import_catalog_file"]
    readonly_fields = ["version", "item_count", "source", "items", "created_at", "updated_at"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:  # type: ignore[override]  # names are field groups
        if obj is None:
            return ["tenant", "name", "currency"]
        return ["tenant", "name", "currency", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [] if obj is None else ["tenant", *self.readonly_fields]

    @admin.display(description="Items")
    def items(self, catalog: PriceCatalog) -> str:
        return format_html("<a href='{}'>browse</a>", _items_url(catalog.pk))

    @admin.action(description="Import a new edition into the selected catalog")
    def import_catalog_file(self, request: HttpRequest, queryset: QuerySet):
        catalogs = list(queryset[:2])
        if len(catalogs) != 1:
            self.message_user(request, "Select exactly one catalog.", messages.ERROR)
            return None
        catalog = catalogs[0]
        form = CatalogImportForm()
        if "apply" in request.POST:
            form = CatalogImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    job = catalog_import_start(
                        tenant=catalog.tenant,
                        actor=request.user.get_username(),
                        catalog_id=catalog.pk,
                        file=upload,
                        filename=upload.name,
                        created_by=admin_user(request),
                    )
                except ApiError as exc:  # the monthly job quota
                    self.message_user(request, f"{catalog.name}: {exc.detail}", messages.ERROR)
                    return None
                job_started_message(request, job, f"Import of a new edition of {catalog.name}")
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import a new edition of {catalog.name}",
            "explanation": f"The file becomes the next edition of {catalog.name} when the import "
            "job finishes. A file with errors changes nothing; the job lists the problems. "
            "Positions whose reference price or unit changes get alerts.",
            "target": catalog,
            "action": "import_catalog_file",
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/projects/import_file.html", context)


@admin.register(CatalogItem)
class CatalogItemAdmin(ReadOnlyAdmin):
    """Read-only: an item changes with the catalog's next edition."""

    list_display = ["code", "catalog", "description", "unit", "price", "changed_in_version"]
    list_filter = ["catalog", "changed_in_version"]
    search_fields = ["code", "description"]
    list_select_related = ["catalog"]

    @admin.display(description="unit price", ordering="unit_price")
    def price(self, item: CatalogItem) -> str:
        return money(item.unit_price, item.catalog.currency)


class AcknowledgedFilter(admin.SimpleListFilter):
    title = "acknowledged"
    parameter_name = "acknowledged"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("no", "Open"), ("yes", "Acknowledged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(acknowledged_at__isnull=self.value() == "no")
        return queryset


@admin.register(Alert)
class AlertAdmin(TenantScopedAdmin):
    list_display = [
        "code",
        "project",
        "kind",
        "position",
        "catalog",
        "catalog_version",
        "created_at",
        "state",
    ]
    list_filter = [AcknowledgedFilter, "kind", "tenant"]
    search_fields = ["code", "line_key", "message", "project__name"]
    list_select_related = ["project", "catalog"]
    actions = ["acknowledge"]
    readonly_fields = ["position"]

    @admin.display(description="state", ordering="acknowledged_at")
    def state(self, alert: Alert) -> str:
        return badge("acknowledged" if alert.acknowledged_at else "open")

    @admin.display(description="position")
    def position(self, alert: Alert) -> str:
        url = reverse("admin:projects_position_changelist")
        return format_html(
            '<a href="{}?project={}&amp;q={}">{}</a>',
            url,
            alert.project_id,
            alert.position_number or alert.line_key,
            alert.position_number or alert.line_key,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Acknowledge selected alerts")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for alert in queryset.filter(acknowledged_at__isnull=True):
            alert_acknowledge(alert=alert, by=request.user.get_username())
            count += 1
        self.message_user(request, f"{count} alert(s) acknowledged.", messages.SUCCESS)


@admin.register(CatalogEdition)
class CatalogEditionAdmin(ReadOnlyAdmin):
    """Read-only: an edition is what an import wrote."""

    list_display = ["name", "catalog", "number", "item_count", "created_at"]
    list_filter = ["catalog"]
    search_fields = ["name", "catalog__name"]
    list_select_related = ["catalog"]
