"""Query filters for tenant lists."""

import django_filters
from django import forms

from tenants.models import RequestLog


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField


class RequestLogFilter(django_filters.FilterSet):
    method = django_filters.ChoiceFilter(
        choices=[(m, m) for m in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")]
    )
    status = IntegerFilter(field_name="status_code")
    path = django_filters.CharFilter(lookup_expr="startswith", help_text="Path prefix.")
    api_key = django_filters.UUIDFilter(field_name="api_key_id")
    request_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = RequestLog
        fields = []
