"""Versions: list, read, revert."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.pagination import CursorPage
from projects import selectors
from projects.apis.common import ProjectScopedApi, money_field
from projects.models import BudgetVersion
from projects.services import version_revert
from tenants.context import actor_label


class VersionOutputSerializer(serializers.ModelSerializer):
    # DRF's metaclass takes declared fields off the class: `parent` stays the serializer's parent.
    parent = serializers.IntegerField(source="parent.number", allow_null=True)  # type: ignore[assignment]
    changes = serializers.SerializerMethodField()
    delta_cost = money_field()
    total_cost = money_field()
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
            "reconciliation",
            "declared_totals",
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
        """The project's versions, newest first, with their changes and delta cost."""
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
        """One version of the project."""
        project = self.project(project_id)
        version = selectors.version_get(tenant=self.tenant, project=project, number=number)
        return Response(VersionOutputSerializer(version, context={"project": project}).data)


class VersionRevertApi(ProjectScopedApi):
    @extend_schema(request=None, responses={201: VersionOutputSerializer})
    def post(self, request: Request, project_id: str, number: int) -> Response:
        """Makes a new version equal to this one (a revert); the versions between stay."""
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
