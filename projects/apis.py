"""REST API of projects, versions, positions, diffs, imports and comments: one view per operation,
each validating its input, calling one service or selector and shaping the output."""

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import ApiError
from config.pagination import CursorPage
from jobs.models import Job
from jobs.services import job_create
from projects import selectors
from projects.models import (
    MONEY_DIGITS,
    MONEY_PLACES,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    UNIT_PRICE_DIGITS,
    UNIT_PRICE_PLACES,
    BudgetVersion,
    Comment,
    Position,
    Project,
)
from projects.rows import CONTENT_FIELDS, plain_text
from projects.services import (
    comment_create,
    position_edit,
    project_archive,
    project_create,
    project_update,
    version_revert,
)
from projects.services.projects import project_archived_error
from projects.sources import import_source_save
from tenants.context import TenantContext
from tenants.scoping import TenantAPIView

DIFF_DEFAULT_LIMIT = 1000
DIFF_MAX_LIMIT = 10_000


def actor_label(context: TenantContext) -> str:
    """Who acts, as shown on versions and comments: API keys have no user of their own."""
    if context.api_key is not None:
        return f"API key {context.api_key.name} ({context.api_key.prefix})"
    return context.user.get_username() if context.user is not None else ""


@extend_schema_field(OpenApiTypes.DECIMAL)
class PlainDecimalField(serializers.Field):
    """A stored number as a string without trailing zeros (money keeps two places)."""

    def __init__(self, *, min_places: int = 0, **kwargs: Any) -> None:
        self.min_places = min_places
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return plain_text(value, min_places=self.min_places)


def _money(**kwargs: Any) -> PlainDecimalField:
    return PlainDecimalField(min_places=2, **kwargs)


# Projects -----------------------------------------------------------------------------------------
class ProjectOutputSerializer(serializers.ModelSerializer):
    current_version = serializers.IntegerField(source="current_version.number", allow_null=True)
    total_cost = _money()

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "currency",
            "status",
            "current_version",
            "position_count",
            "total_cost",
            "green_count",
            "amber_count",
            "red_count",
            "created_at",
            "updated_at",
            "deleted_at",
        ]


class ProjectPage(CursorPage):
    ordering = "-created_at"


class ProjectListCreateApi(TenantAPIView):
    pagination_class = ProjectPage

    class FilterSerializer(serializers.Serializer):
        archived = serializers.BooleanField(default=False, help_text="Include archived projects.")
        status = serializers.ChoiceField(choices=Project.Status.choices, required=False)

    @extend_schema_serializer(component_name="ProjectCreate")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        currency = serializers.CharField(max_length=3, default="CZK")

    @extend_schema(
        operation_id="projects_list",
        parameters=[FilterSerializer],
        responses=ProjectOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        projects = selectors.project_list(
            tenant=self.tenant,
            include_archived=filters.validated_data["archived"],
            status=filters.validated_data.get("status"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(projects, request, view=self)
        return paginator.get_paginated_response(ProjectOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ProjectOutputSerializer})
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        project = project_create(
            tenant=self.tenant, created_by=self.tenant_context.user, **payload.validated_data
        )
        return Response(ProjectOutputSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(TenantAPIView):
    model = Project

    @extend_schema_serializer(component_name="ProjectUpdate")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        currency = serializers.CharField(max_length=3, required=False)

    @extend_schema(responses=ProjectOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        project = selectors.project_get(tenant=self.tenant, project_id=pk)
        return Response(ProjectOutputSerializer(project).data)

    @extend_schema(request=InputSerializer, responses=ProjectOutputSerializer)
    def patch(self, request: Request, pk: str) -> Response:
        project = selectors.project_get(tenant=self.tenant, project_id=pk)
        payload = self.InputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        project = project_update(project=project, **payload.validated_data)
        return Response(ProjectOutputSerializer(project).data)

    @extend_schema(responses={204: None}, description="Archives the project (a soft delete).")
    def delete(self, request: Request, pk: str) -> Response:
        project_archive(project=selectors.project_get(tenant=self.tenant, project_id=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectScopedApi(TenantAPIView):
    """A view under /projects/{project_id}/: the project is resolved for the tenant first."""

    def project(self, project_id: str) -> Project:
        return selectors.project_get(tenant=self.tenant, project_id=project_id)


# Versions -----------------------------------------------------------------------------------------
class VersionOutputSerializer(serializers.ModelSerializer):
    parent = serializers.IntegerField(source="parent.number", allow_null=True)
    changes = serializers.SerializerMethodField()
    delta_cost = _money()
    total_cost = _money()
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = BudgetVersion
        fields = [
            "number",
            "trigger",
            "parent",
            "is_current",
            "actor",
            "source_name",
            "summary",
            "changes",
            "delta_cost",
            "position_count",
            "total_cost",
            "created_at",
        ]

    def get_changes(self, version: BudgetVersion) -> dict[str, int]:
        return {
            "added": version.added_count,
            "removed": version.removed_count,
            "modified": version.modified_count,
        }

    def get_is_current(self, version: BudgetVersion) -> bool:
        return version.pk == self.context["project"].current_version_id


class VersionPage(CursorPage):
    ordering = "-number"


class VersionListApi(ProjectScopedApi):
    pagination_class = VersionPage

    @extend_schema(operation_id="versions_list", responses=VersionOutputSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        project = self.project(project_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.version_list(tenant=self.tenant, project=project), request, view=self
        )
        data = VersionOutputSerializer(page, many=True, context={"project": project}).data
        return paginator.get_paginated_response(data)


class VersionDetailApi(ProjectScopedApi):
    @extend_schema(responses=VersionOutputSerializer)
    def get(self, request: Request, project_id: str, number: int) -> Response:
        project = self.project(project_id)
        version = selectors.version_get(tenant=self.tenant, project=project, number=number)
        return Response(VersionOutputSerializer(version, context={"project": project}).data)


class VersionRevertApi(ProjectScopedApi):
    @extend_schema(request=None, responses={201: VersionOutputSerializer})
    def post(self, request: Request, project_id: str, number: int) -> Response:
        project = self.project(project_id)
        version = version_revert(
            project=project,
            number=number,
            created_by=self.tenant_context.user,
            actor=actor_label(self.tenant_context),
        )
        project.current_version = version
        data = VersionOutputSerializer(version, context={"project": project}).data
        return Response(data, status=status.HTTP_201_CREATED)


# Positions ----------------------------------------------------------------------------------------
class PositionOutputSerializer(serializers.ModelSerializer):
    quantity = PlainDecimalField(allow_null=True)
    unit_price = _money(allow_null=True)
    total_price = _money(allow_null=True)

    class Meta:
        model = Position
        fields = [
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
            "audit_status",
            "source_line",
            "valid_from",
            "valid_to",
        ]


class PositionPage(CursorPage):
    # Ordinals are unique within a version: a stable, index-backed cursor.
    ordering = "ordinal"


class PositionListApi(ProjectScopedApi):
    pagination_class = PositionPage

    class FilterSerializer(serializers.Serializer):
        version = serializers.IntegerField(
            min_value=1, required=False, help_text="A version number; the current one if omitted."
        )
        status = serializers.ChoiceField(choices=Position.AuditStatus.choices, required=False)
        code = serializers.CharField(max_length=64, required=False, help_text="Code prefix.")
        section = serializers.CharField(
            max_length=500, required=False, help_text="Section path prefix."
        )
        search = serializers.CharField(
            max_length=200, required=False, help_text="In description, code or number."
        )

    @extend_schema(
        operation_id="positions_list",
        parameters=[FilterSerializer],
        responses=PositionOutputSerializer(many=True),
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = self.project(project_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        version = filters.validated_data.get("version")
        if version is not None:
            selectors.version_get(tenant=self.tenant, project=project, number=version)
        positions = selectors.position_list(
            tenant=self.tenant, project=project, **filters.validated_data
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(positions, request, view=self)
        return paginator.get_paginated_response(PositionOutputSerializer(page, many=True).data)


class PositionDetailApi(ProjectScopedApi):
    model = Position

    @extend_schema_serializer(component_name="PositionEdit")
    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64, allow_blank=True, required=False)
        description = serializers.CharField(allow_blank=True, required=False)
        category = serializers.CharField(max_length=32, allow_blank=True, required=False)
        unit = serializers.CharField(max_length=32, allow_blank=True, required=False)
        quantity = serializers.DecimalField(
            max_digits=QUANTITY_DIGITS,
            decimal_places=QUANTITY_PLACES,
            allow_null=True,
            required=False,
        )
        unit_price = serializers.DecimalField(
            max_digits=UNIT_PRICE_DIGITS,
            decimal_places=UNIT_PRICE_PLACES,
            allow_null=True,
            required=False,
        )
        total_price = serializers.DecimalField(
            max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, allow_null=True, required=False
        )

    @extend_schema_serializer(component_name="PositionEdited")
    class EditedSerializer(serializers.Serializer):
        position = PositionOutputSerializer()
        version = serializers.IntegerField(
            allow_null=True, help_text="The version the edit made; null when nothing changed."
        )

    @extend_schema(responses=PositionOutputSerializer)
    def get(self, request: Request, project_id: str, pk: str) -> Response:
        project = self.project(project_id)
        position = selectors.position_get(tenant=self.tenant, project=project, position_id=pk)
        return Response(PositionOutputSerializer(position).data)

    @extend_schema(
        request=InputSerializer,
        responses=EditedSerializer,
        description="Edits a position of the current version: makes a new version whose row "
        "(with a new id) replaces it. A quantity or unit price without a total recomputes it.",
    )
    def patch(self, request: Request, project_id: str, pk: str) -> Response:
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


# Diff ---------------------------------------------------------------------------------------------
def _position_entry(row: dict) -> dict:
    return {
        "id": str(row["id"]),
        "line_key": row["line_key"],
        **{name: _shown(name, row[name]) for name in CONTENT_FIELDS},
    }


def _shown(name: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain_text(value, min_places=0 if name == "quantity" else 2)
    return value


class DiffApi(ProjectScopedApi):
    class FilterSerializer(serializers.Serializer):
        from_ = serializers.IntegerField(min_value=1)
        to = serializers.IntegerField(min_value=1)
        kind = serializers.MultipleChoiceField(
            choices=selectors.DIFF_KINDS, required=False, help_text="Entries of these kinds only."
        )
        limit = serializers.IntegerField(
            min_value=0, max_value=DIFF_MAX_LIMIT, default=DIFF_DEFAULT_LIMIT
        )

        def get_fields(self) -> dict:
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")  # `from` is a Python keyword
            return fields

    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, required=True),
            OpenApiParameter("to", int, required=True),
            OpenApiParameter("kind", str, many=True, enum=list(selectors.DIFF_KINDS)),
            OpenApiParameter("limit", int, description="Entries per kind (counts are exact)."),
        ],
        responses=inline_serializer(
            "Diff",
            fields={
                "from": serializers.IntegerField(),
                "to": serializers.IntegerField(),
                "counts": serializers.DictField(child=serializers.IntegerField()),
                "delta_cost": serializers.CharField(),
                "added": serializers.ListField(child=serializers.DictField()),
                "removed": serializers.ListField(child=serializers.DictField()),
                "modified": serializers.ListField(child=serializers.DictField()),
                "truncated": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = self.project(project_id)
        query = request.query_params.copy()
        if "kind" in query:
            query.setlist("kind", [k for v in query.getlist("kind") for k in v.split(",") if k])
        filters = self.FilterSerializer(data=query)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        wanted = data.get("kind") or set(selectors.DIFF_KINDS)
        diff = selectors.version_diff(
            tenant=self.tenant,
            project=project,
            from_number=data["from"],
            to_number=data["to"],
            kinds=tuple(kind for kind in selectors.DIFF_KINDS if kind in wanted),
            limit=data["limit"],
        )
        return Response(
            {
                "from": diff.from_number,
                "to": diff.to_number,
                "counts": {
                    "added": diff.added_count,
                    "removed": diff.removed_count,
                    "modified": diff.modified_count,
                },
                "delta_cost": str(diff.delta_cost),
                "added": [_position_entry(row) for row in diff.entries["added"]],
                "removed": [_position_entry(row) for row in diff.entries["removed"]],
                "modified": [
                    {
                        "line_key": entry["line_key"],
                        "position_number": entry["position_number"],
                        "from_id": str(entry["from_id"]),
                        "to_id": str(entry["to_id"]),
                        "changes": {
                            name: {
                                "from": _shown(name, change["from"]),
                                "to": _shown(name, change["to"]),
                            }
                            for name, change in entry["changes"].items()
                        },
                    }
                    for entry in diff.entries["modified"]
                ],
                "truncated": diff.truncated,
            }
        )


# Imports ------------------------------------------------------------------------------------------
class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "project",
            "progress",
            "step",
            "input",
            "result",
            "error",
            "created_at",
        ]


class ImportCreateApi(ProjectScopedApi):
    @extend_schema_serializer(component_name="ImportCreate")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            allow_empty_file=True, help_text="The budget: CSV, XLSX or UNIXML 1.2."
        )

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={202: JobOutputSerializer},
        description="Starts an `import_budget` job; its result names the new version.",
    )
    def post(self, request: Request, project_id: str) -> Response:
        project = self.project(project_id)
        if project.is_archived:
            raise project_archived_error()
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        source = import_source_save(tenant=self.tenant, file=upload, filename=upload.name)
        job = job_create(
            tenant=self.tenant,
            kind="import_budget",
            input={**source, "actor": actor_label(self.tenant_context)},
            project=project,
            created_by=self.tenant_context.user,
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


# Comments -----------------------------------------------------------------------------------------
class CommentOutputSerializer(serializers.ModelSerializer):
    positions = serializers.ListField(source="line_keys", child=serializers.CharField())

    class Meta:
        model = Comment
        fields = ["id", "body", "positions", "actor", "created_at"]


class CommentPage(CursorPage):
    ordering = "-created_at"


class CommentListCreateApi(ProjectScopedApi):
    pagination_class = CommentPage

    @extend_schema_serializer(component_name="CommentCreate")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=10_000)
        positions = serializers.ListField(
            child=serializers.CharField(max_length=512),
            max_length=100,
            required=False,
            help_text="Positions the comment is about: ids or line keys.",
        )

    @extend_schema(operation_id="comments_list", responses=CommentOutputSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        project = self.project(project_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.comment_list(tenant=self.tenant, project=project), request, view=self
        )
        return paginator.get_paginated_response(CommentOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CommentOutputSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        project = self.project(project_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        comment = comment_create(
            project=project,
            created_by=self.tenant_context.user,
            actor=actor_label(self.tenant_context),
            **payload.validated_data,
        )
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)
