"""Query filters for tenant lists."""

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from core.fields import QUERY_TEXT_SCHEMA
from tenants.models import RequestLog


# Django refuses NUL characters in a query's text; the schema says so.
@extend_schema_field(QUERY_TEXT_SCHEMA)
class TextFilter(django_filters.CharFilter):
    pass


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, in UTC: ISO allows offsets up to 24 h, PostgreSQL only up to 16."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Out of range in UTC.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class RequestLogFilter(django_filters.FilterSet):
    method = django_filters.ChoiceFilter(
        choices=[(m, m) for m in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")]
    )
    status = IntegerFilter(field_name="status_code")
    path = TextFilter(lookup_expr="startswith", help_text="Path prefix.")
    api_key = django_filters.UUIDFilter(field_name="api_key_id")
    request_id = TextFilter()
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = RequestLog
        fields: list[str] = []
