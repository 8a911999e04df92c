"""bench/admin.py's URLconf: Kalkula's own routes plus a stock Django AdminSite at /plain-admin/
with an untuned ModelAdmin for positions (the admin a team would start from)."""

from django.contrib import admin
from django.urls import path

from config.urls import urlpatterns as kalkula_urlpatterns
from projects.models import Position


class StockPositionAdmin(admin.ModelAdmin):
    list_display = [
        "line_key",
        "project",
        "section",
        "code",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "total_price",
        "kind",
        "audit_status",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["project", "audit_status", "kind", "section"]
    search_fields = ["line_key", "code", "description"]


plain_site = admin.AdminSite(name="plain_admin")
plain_site.register(Position, StockPositionAdmin)

urlpatterns = [path("plain-admin/", plain_site.urls), *kalkula_urlpatterns]
