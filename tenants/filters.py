"""Query filters for tenant lists."""

import django_filters

from tenants.models import RequestLog


class RequestLogFilter(django_filters.FilterSet):
    method = django_filters.ChoiceFilter(
        choices=[(m, m) for m in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")]
    )
    status = django_filters.NumberFilter(field_name="status_code")
    path = django_filters.CharFilter(lookup_expr="startswith", help_text="Path prefix.")
    api_key = django_filters.UUIDFilter(field_name="api_key_id")
    request_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = RequestLog
        fields = []
