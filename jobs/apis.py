from typing import cast

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ApiError, unknown_reference
from core.fields import StrictCharField, StrictIntegerField, StrictUUIDField, query_text_field
from core.pagination import CursorPage
from jobs.models import Job, JobEvent
from jobs.progress import job_event_data
from jobs.registry import job_kinds
from jobs.selectors import job_event_list, job_events_pending, job_get, job_list
from jobs.services import job_cancel, job_start_direct
from projects.models import Project
from tenants.models import Role
from tenants.ratelimit import JOBS
from tenants.scoping import TenantScopedGenericAPIView


def _direct_input_schema() -> type[serializers.Serializer] | dict:
    """`input` as the kind that may be started directly validates it (any object with several)."""
    serializers_ = {kind.input_serializer for kind in job_kinds() if kind.direct}
    if len(serializers_) == 1 and None not in serializers_:
        return next(iter(serializers_))  # type: ignore[return-value]  # not None: checked
    return {"type": "object", "additionalProperties": True}


# The service refuses other kinds by name (`invalid_job_kind`); the schema lists these.
@extend_schema_field({"type": "string", "enum": [kind.name for kind in job_kinds() if kind.direct]})
class DirectKindField(StrictCharField):
    pass


@extend_schema_field(_direct_input_schema())
class DirectInputField(serializers.DictField):
    pass


class JobOutputSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id", allow_null=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "queue",
            "project",
            "input",
            "result",
            "error",
            "progress",
            "step",
            "attempts",
            "last_seq",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "cancel_requested_at",
        ]

    def get_created_by(self, job: Job) -> dict | None:
        """Who started it: `{"type": "user", "username"}` or `{"type": "api_key", "id", "name"}`."""
        if job.created_by_key_id and (key := job.created_by_key) is not None:
            return {"type": "api_key", "id": str(key.id), "name": key.name}
        if job.created_by_id and (user := job.created_by) is not None:
            return {"type": "user", "username": user.get_username()}
        return None


class JobEventOutputSerializer(serializers.ModelSerializer):
    # DRF's metaclass takes declared fields off the class: `data` stays the serializer's data.
    data = serializers.SerializerMethodField()  # type: ignore[assignment]

    class Meta:
        model = JobEvent
        fields = ["seq", "type", "data", "created_at"]

    def get_data(self, event: JobEvent) -> dict:
        return job_event_data(event.job_id, event.payload)


class EventCursorPage(CursorPage):
    ordering = "seq"
    page_size = 200


class JobListCreateApi(TenantScopedGenericAPIView):
    """GET lists the tenant's jobs; POST starts a kind that may be started directly."""

    model = Job
    serializer_class = JobOutputSerializer
    pagination_class = CursorPage
    # Starting a job draws on the `jobs` rate-limit bucket; listing on `reads`.
    write_bucket = JOBS

    class JobFilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Job.Status.choices, required=False)
        kind = query_text_field(max_length=50, required=False)
        project = serializers.UUIDField(required=False)

    class JobStartInputSerializer(serializers.Serializer):
        kind = DirectKindField(max_length=50)
        input = DirectInputField(required=False, default=dict)
        project = StrictUUIDField(required=False, allow_null=True, default=None)

    @extend_schema(
        operation_id="jobs_list",
        parameters=[JobFilterSerializer],
        responses=JobOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.JobFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        project = filters.validated_data.pop("project", None)
        jobs = job_list(tenant=self.tenant, project_id=project, **filters.validated_data)
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=JobStartInputSerializer,
        responses={202: JobOutputSerializer},
        description="Start a job of a kind that may be started directly: "
        + ", ".join(kind.name for kind in job_kinds() if kind.direct)
        + ". Domain kinds (imports, audits, exports) start from their own endpoints.",
    )
    def post(self, request: Request) -> Response:
        payload = self.JobStartInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        project = None
        if payload.validated_data["project"] is not None:
            project = (
                Project.objects.for_tenant(self.tenant)
                .filter(pk=payload.validated_data["project"])
                .first()
            )
            if project is None:
                raise unknown_reference("project")
        context = self.tenant_context
        try:
            job = job_start_direct(
                tenant=self.tenant,
                kind=payload.validated_data["kind"],
                input=payload.validated_data["input"],
                project=project,
                created_by=context.user,
                created_by_key=context.api_key,
            )
        except ApiError as exc:
            if exc.error_code == "invalid" and "input" in (exc.details or {}):
                raise serializers.ValidationError({"input": exc.details["input"]}) from None
            raise
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(TenantScopedGenericAPIView):
    model = Job
    serializer_class = JobOutputSerializer

    def get(self, request: Request, pk: str) -> Response:
        """One job: its status, progress, step, input, result or error."""
        return Response(self.get_serializer(job_get(tenant=self.tenant, job_id=pk)).data)


class JobEventListApi(TenantScopedGenericAPIView):
    """The job's events after `since`, oldest first: the stored ones, and on the last page also
    those published but not stored yet."""

    model = Job
    serializer_class = JobEventOutputSerializer
    pagination_class = EventCursorPage

    class JobEventFilterSerializer(serializers.Serializer):
        since = StrictIntegerField(
            min_value=0, required=False, default=0, help_text="Only events with a greater seq."
        )

    @extend_schema(
        parameters=[JobEventFilterSerializer],
        responses=JobEventOutputSerializer(many=True),
    )
    def get(self, request: Request, pk: str) -> Response:
        job = job_get(tenant=self.tenant, job_id=pk)
        filters = self.JobEventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        since = filters.validated_data["since"]
        pending = job_events_pending(job=job, after=since)
        page = self.paginate_queryset(job_event_list(tenant=self.tenant, job=job, since=since))
        results = self.get_serializer(page, many=True).data
        if cast(CursorPage, self.paginator).get_next_link() is None:
            last = results[-1]["seq"] if results else since
            results += [
                {
                    "seq": entry["seq"],
                    "type": entry["type"],
                    "data": job_event_data(job.id, entry["payload"]),
                    "created_at": entry["created_at"],
                }
                for entry in pending
                if entry["seq"] > last
            ]
        return self.get_paginated_response(results)


class JobCancelApi(TenantScopedGenericAPIView):
    """The job's creator (the same user, or the same API key) and admins may cancel it."""

    model = Job
    serializer_class = JobOutputSerializer

    @extend_schema(request=None, responses=JobOutputSerializer)
    def post(self, request: Request, pk: str) -> Response:
        job = job_get(tenant=self.tenant, job_id=pk)
        context = self.tenant_context
        is_creator = (
            context.api_key is not None and job.created_by_key_id == context.api_key.id
        ) or (context.user is not None and job.created_by_id == context.user.pk)
        if not (is_creator or Role.at_least(context.role, Role.ADMIN)):
            raise ApiError(
                code="forbidden",
                message="Only whoever started this job, or an admin, can cancel it.",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        return Response(self.get_serializer(job_cancel(job=job)).data)
