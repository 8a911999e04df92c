"""Imports: an uploaded file becomes an import_budget job."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import ChoiceOfFieldsSerializer, StrictUUIDField, UploadField, body, is_form
from evidence.uploads import StreamingUploadMixin
from jobs.apis import JobOutputSerializer
from projects.apis.common import ProjectScopedApi
from projects.services.imports import budget_import_start
from projects.services.projects import project_archived_error
from tenants.context import actor_label
from tenants.ratelimit import JOBS


class ImportCreateApi(StreamingUploadMixin, ProjectScopedApi):
    write_bucket = JOBS

    # A form uploads the file; a JSON body names a document the tenant keeps instead.
    class InputSerializer(ChoiceOfFieldsSerializer):
        one_of = (("file",), ("evidence",))
        one_of_message = "Send either a file or an evidence id."

        file = UploadField(
            required=False, allow_empty_file=True, help_text="The budget: CSV, XLSX or UNIXML 1.2."
        )
        evidence = StrictUUIDField(
            required=False, help_text="Or the id of a document the tenant keeps already."
        )

    @extend_schema_serializer(component_name="ImportUpload")
    class FormInputSerializer(InputSerializer):
        evidence = None  # type: ignore[assignment]

    @extend_schema_serializer(component_name="ImportFromEvidence")
    class JsonInputSerializer(InputSerializer):
        file = None  # type: ignore[assignment]

    @extend_schema(
        request={
            "multipart/form-data": FormInputSerializer,
            "application/json": JsonInputSerializer,
        },
        responses={202: JobOutputSerializer},
        description="Starts an `import_budget` job; its result names the new version.",
    )
    def post(self, request: Request, project_id: str) -> Response:
        """Starts an import of a budget file (or a document) as the project's next version."""
        project = self.project(project_id)
        if project.is_archived:  # before reading the upload
            raise project_archived_error()
        serializer = self.FormInputSerializer if is_form(request) else self.JsonInputSerializer
        payload = serializer(data=body(request))
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data.get("file")
        job = budget_import_start(
            project=project,
            actor=actor_label(self.tenant_context),
            file=upload,
            filename=upload.name if upload is not None else "",
            evidence_id=payload.validated_data.get("evidence"),
            created_by=self.tenant_context.user,
            created_by_key=self.tenant_context.api_key,
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)
