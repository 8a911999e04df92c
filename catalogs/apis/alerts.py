"""Alerts raised by catalog updates: list, acknowledge."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from catalogs import selectors
from catalogs.models import Alert
from catalogs.services import alert_acknowledge
from core.pagination import CursorPage
from tenants.context import actor_label
from tenants.scoping import TenantAPIView


class EditionNameSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField()
    name = serializers.CharField()


class AlertOutputSerializer(serializers.ModelSerializer):
    acknowledged = serializers.SerializerMethodField()
    edition = EditionNameSerializer(allow_null=True, help_text="The edition that changed the item.")
    previous_edition = EditionNameSerializer(
        allow_null=True, help_text="The edition it changed against."
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "project",
            "catalog",
            "catalog_item",
            "catalog_version",
            "edition",
            "previous_edition",
            "kind",
            "line_key",
            "position_number",
            "code",
            "message",
            "details",
            "created_at",
            "acknowledged",
            "acknowledged_at",
            "acknowledged_by",
        ]

    def get_acknowledged(self, alert: Alert) -> bool:
        return alert.acknowledged_at is not None


class AlertPage(CursorPage):
    ordering = "-created_at"


class AlertListApi(TenantAPIView):
    pagination_class = AlertPage

    class FilterSerializer(serializers.Serializer):
        acknowledged = serializers.BooleanField(
            required=False, allow_null=True, default=None, help_text="Omit for all alerts."
        )
        project = serializers.UUIDField(required=False, help_text="Only this project's alerts.")
        kind = serializers.ChoiceField(choices=Alert.Kind.choices, required=False)

    @extend_schema(
        operation_id="alerts_list",
        parameters=[FilterSerializer],
        responses=AlertOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The tenant's alerts, newest first: positions whose catalog item changed its reference
        price or unit."""
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        alerts = selectors.alert_list(
            tenant=self.tenant,
            acknowledged=data.get("acknowledged"),
            project_id=data.get("project"),
            kind=data.get("kind"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(alerts, request, view=self)
        return paginator.get_paginated_response(AlertOutputSerializer(page, many=True).data)


class AlertAcknowledgeApi(TenantAPIView):
    model = Alert

    @extend_schema(request=None, responses=AlertOutputSerializer)
    def post(self, request: Request, pk: str) -> Response:
        """Acknowledges the alert (once; acknowledging again changes nothing)."""
        alert = selectors.alert_get(tenant=self.tenant, alert_id=pk)
        alert = alert_acknowledge(alert=alert, by=actor_label(self.tenant_context))
        return Response(AlertOutputSerializer(alert).data)
