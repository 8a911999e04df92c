"""Positions of any version, and edits (each a new version)."""

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ApiError
from core.fields import StrictCharField, StrictDecimalField, StrictIntegerField, query_text_field
from core.pagination import CursorPage
from core.serializers import query_filters
from projects import selectors
from projects.apis.common import PlainDecimalField, ProjectScopedApi, money_field
from projects.models import (
    MONEY_DIGITS,
    MONEY_PLACES,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    UNIT_PRICE_DIGITS,
    UNIT_PRICE_PLACES,
    Position,
)
from projects.rows import plain_text
from projects.services import position_edit
from tenants.context import actor_label

POSITION_FIELDS = (
    "id",
    "line_key",
    "section",
    "position_number",
    "code",
    "description",
    "category",
    "unit",
    "quantity",
    "unit_price",
    "total_price",
    "kind",
    "price_system",
    "material_unit_price",
    "assembly_unit_price",
    "long_text",
    "takeoff",
    "audit_status",
    "source_line",
    "valid_from",
    "valid_to",
)


class PositionOutputSerializer(serializers.ModelSerializer):
    """A position, from a model or a `.values(*POSITION_FIELDS)` row. The fields declare the
    schema; the output is built directly: the positions list is the hottest read, and DRF's
    field-by-field machinery cost as much as the query."""

    quantity = PlainDecimalField(allow_null=True)
    unit_price = money_field(allow_null=True)
    total_price = money_field(allow_null=True)
    material_unit_price = money_field(allow_null=True)
    assembly_unit_price = money_field(allow_null=True)

    class Meta:
        model = Position
        fields = list(POSITION_FIELDS)

    def to_representation(self, position: Position | dict) -> dict:
        row = position if isinstance(position, dict) else vars(position)
        data = {name: row[name] for name in POSITION_FIELDS}
        data["id"] = str(data["id"])
        data["quantity"] = plain_text(data["quantity"])
        data["unit_price"] = plain_text(data["unit_price"], min_places=2)
        data["total_price"] = plain_text(data["total_price"], min_places=2)
        data["material_unit_price"] = plain_text(data["material_unit_price"], min_places=2)
        data["assembly_unit_price"] = plain_text(data["assembly_unit_price"], min_places=2)
        return data


class PositionPage(CursorPage):
    # Ordinals are unique within a version: a stable, index-backed cursor.
    ordering = "ordinal"


class PositionListApi(ProjectScopedApi):
    pagination_class = PositionPage

    class FilterSerializer(serializers.Serializer):
        version = StrictIntegerField(
            min_value=1, required=False, help_text="A version number; the current one if omitted."
        )
        status = serializers.ChoiceField(choices=Position.AuditStatus.choices, required=False)
        code = query_text_field(max_length=64, required=False, help_text="Code prefix.")
        section = query_text_field(max_length=500, required=False, help_text="Section path prefix.")
        search = query_text_field(
            max_length=200, required=False, help_text="In description, code or number."
        )

    @extend_schema(
        operation_id="positions_list",
        parameters=[FilterSerializer],
        responses=PositionOutputSerializer(many=True),
    )
    def get(self, request: Request, project_id: str) -> Response:
        """The positions of a version (the current one by default) in file order, by cursor."""
        project = self.project(project_id)
        filters = query_filters(self.FilterSerializer, request.query_params)
        version = filters.get("version")
        if version is not None:
            selectors.version_get(tenant=self.tenant, project=project, number=version)
        positions = selectors.position_list(tenant=self.tenant, project=project, **filters).values(
            *POSITION_FIELDS, "ordinal"
        )
        paginator = self.pagination_class()
        page: list[Any] | None = paginator.paginate_queryset(positions, request, view=self)
        return paginator.get_paginated_response(PositionOutputSerializer(page, many=True).data)


class PositionDetailApi(ProjectScopedApi):
    model = Position

    @extend_schema_serializer(component_name="PositionEdit")
    class InputSerializer(serializers.Serializer):
        code = StrictCharField(max_length=64, allow_blank=True, required=False)
        description = StrictCharField(allow_blank=True, required=False)
        category = StrictCharField(max_length=32, allow_blank=True, required=False)
        unit = StrictCharField(max_length=32, allow_blank=True, required=False)
        quantity = StrictDecimalField(
            max_digits=QUANTITY_DIGITS,
            decimal_places=QUANTITY_PLACES,
            allow_null=True,
            required=False,
        )
        unit_price = StrictDecimalField(
            max_digits=UNIT_PRICE_DIGITS,
            decimal_places=UNIT_PRICE_PLACES,
            allow_null=True,
            required=False,
        )
        total_price = StrictDecimalField(
            max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, allow_null=True, required=False
        )

    @extend_schema_serializer(component_name="PositionEdited")
    class EditedSerializer(serializers.Serializer):
        position = PositionOutputSerializer()
        version = serializers.IntegerField(
            allow_null=True, help_text="The version the edit made; null when nothing changed."
        )

    @extend_schema(responses=PositionOutputSerializer)
    def get(self, request: Request, project_id: str, pk: UUID) -> Response:
        """One position row."""
        project = self.project(project_id)
        position = selectors.position_get(tenant=self.tenant, project=project, position_id=pk)
        return Response(PositionOutputSerializer(position).data)

    @extend_schema(
        request=InputSerializer,
        responses=EditedSerializer,
        description="Edits a position of the current version: makes a new version whose row "
        "(with a new id) replaces it. A quantity or unit price without a total recomputes it.",
    )
    def patch(self, request: Request, project_id: str, pk: UUID) -> Response:
        """Edits a position of the current version, making a new version."""
        project = self.project(project_id)
        selectors.position_get(tenant=self.tenant, project=project, position_id=pk)
        payload = self.InputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        if not payload.validated_data:
            raise ApiError(
                code="invalid",
                message=f"Name a field to change: {', '.join(self.InputSerializer().fields)}.",
            )
        position, version = position_edit(
            project=project,
            position_id=pk,
            changes=payload.validated_data,
            created_by=self.tenant_context.user,
            actor=actor_label(self.tenant_context),
        )
        return Response(
            {
                "position": PositionOutputSerializer(position).data,
                "version": version.number if version else None,
            }
        )
