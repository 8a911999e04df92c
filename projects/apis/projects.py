"""Projects: list, create, read, rename, archive."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import text_field
from core.pagination import CursorPage
from projects import selectors
from projects.apis.common import currency_field, money_field
from projects.models import Project
from projects.services import project_archive, project_create, project_update
from tenants.scoping import TenantAPIView


class ProjectOutputSerializer(serializers.ModelSerializer):
    current_version = serializers.IntegerField(source="current_version.number", allow_null=True)
    total_cost = money_field()

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
        name = text_field(max_length=200)
        currency = currency_field(default="CZK")

    @extend_schema(
        operation_id="projects_list",
        parameters=[FilterSerializer],
        responses=ProjectOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The tenant's projects, newest first (archived ones with `include_archived`)."""
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
        """Creates a project (empty: import a budget into it next)."""
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
        name = text_field(max_length=200, required=False)
        currency = currency_field(required=False)

    @extend_schema(responses=ProjectOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        """One project with its current version and cached totals and audit counts."""
        project = selectors.project_get(tenant=self.tenant, project_id=pk)
        return Response(ProjectOutputSerializer(project).data)

    @extend_schema(request=InputSerializer, responses=ProjectOutputSerializer)
    def patch(self, request: Request, pk: str) -> Response:
        """Renames the project or changes its currency."""
        project = selectors.project_get(tenant=self.tenant, project_id=pk)
        payload = self.InputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        project = project_update(project=project, **payload.validated_data)
        return Response(ProjectOutputSerializer(project).data)

    @extend_schema(responses={204: None}, description="Archives the project (a soft delete).")
    def delete(self, request: Request, pk: str) -> Response:
        """Archives the project (a soft delete)."""
        project_archive(project=selectors.project_get(tenant=self.tenant, project_id=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
