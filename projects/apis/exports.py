"""Exports: a version of the budget as XLSX or CSV, written by an export_budget job."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import StrictIntegerField
from jobs.apis import JobOutputSerializer
from projects.apis.common import ProjectScopedApi
from projects.services.exports import FORMATS, budget_export_start
from tenants.ratelimit import JOBS


class ExportCreateApi(ProjectScopedApi):
    write_bucket = JOBS

    @extend_schema_serializer(component_name="ExportCreate")
    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=sorted(FORMATS))
        version = StrictIntegerField(
            min_value=1, required=False, help_text="A version number; the current one if omitted."
        )

    @extend_schema(
        request=InputSerializer,
        responses={202: JobOutputSerializer},
        description="Starts an `export_budget` job; its result names the evidence id of the "
        "file (download it through /evidence/{id}/download/).",
    )
    def post(self, request: Request, project_id: str) -> Response:
        """Starts an export of a version as XLSX or CSV."""
        project = self.project(project_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        job = budget_export_start(
            project=project,
            format=payload.validated_data["format"],
            version=payload.validated_data.get("version"),
            created_by=self.tenant_context.user,
            created_by_key=self.tenant_context.api_key,
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)
