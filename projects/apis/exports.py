"""Exports: a version of the budget as XLSX or CSV, written by an export_budget job."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ApiError
from jobs.apis import JobOutputSerializer
from jobs.services import job_create
from projects import selectors
from projects.apis.common import ProjectScopedApi
from projects.services.exports import FORMATS
from tenants.ratelimit import JOBS


class ExportCreateApi(ProjectScopedApi):
    write_bucket = JOBS

    @extend_schema_serializer(component_name="ExportCreate")
    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=sorted(FORMATS))
        version = serializers.IntegerField(
            min_value=1, required=False, help_text="A version number; the current one if omitted."
        )

    @extend_schema(
        request=InputSerializer,
        responses={202: JobOutputSerializer},
        description="Starts an `export_budget` job; its result names the evidence id of the "
        "file (download it through /evidence/{id}/download/).",
    )
    def post(self, request: Request, project_id: str) -> Response:
        project = self.project(project_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version = payload.validated_data.get("version")
        if version is not None:
            selectors.version_get(tenant=self.tenant, project=project, number=version)
        elif project.current_version is None:
            raise ApiError(
                code="no_versions",
                message="The project has no budget yet: import one before exporting.",
                status_code=status.HTTP_409_CONFLICT,
            )
        job = job_create(
            tenant=self.tenant,
            kind="export_budget",
            input={"format": payload.validated_data["format"], "version": version},
            project=project,
            created_by=self.tenant_context.user,
            created_by_key=self.tenant_context.api_key,
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)
