"""Audits: starting one (a job), its findings and their waivers, the reports and their chain."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from audits import selectors
from audits.models import AuditReport, Finding, Recommendation, Waiver
from audits.reports import report_chain_verify
from audits.services import finding_waive, waiver_withdraw
from audits.start import DEFAULT_CATALOG, audit_start
from core.fields import (
    StrictDecimalField,
    StrictIntegerField,
    StrictUUIDField,
    query_text_field,
    text_field,
)
from core.pagination import CursorPage
from core.serializers import RowsSerializerMixin
from jobs.apis import JobOutputSerializer
from projects.apis.common import ProjectScopedApi
from projects.selectors import version_get
from tenants.context import actor_label
from tenants.ratelimit import JOBS
from tenants.scoping import TenantAPIView


class AuditCreateApi(ProjectScopedApi):
    write_bucket = JOBS

    @extend_schema_serializer(component_name="AuditCreate")
    class InputSerializer(serializers.Serializer):
        version = StrictIntegerField(
            min_value=1,
            required=False,
            help_text="The version to audit; the current one if omitted.",
        )
        catalog = StrictUUIDField(
            required=False,
            allow_null=True,
            help_text="The price catalog whose newest edition positions naming no edition are "
            "compared with; the tenant's most recently updated one if omitted, none if null.",
        )
        edition = text_field(
            required=False,
            max_length=100,
            help_text="Compare every position with this edition (its id, or its name such as "
            "`ÚRS 2026 01`), whatever edition the position names. Omitted: each position with "
            "the edition its price system names.",
        )
        index = StrictDecimalField(
            max_digits=8,
            decimal_places=3,
            required=False,
            help_text="With `edition`: a price index in percent (6.2 = +6.2 %) from the "
            "edition's price level to the budget's; catalog prices are multiplied by "
            "(1 + index / 100).",
        )

    @extend_schema(
        request=InputSerializer,
        responses={202: JobOutputSerializer},
        description="Starts an `audit_project` job; its result names the report.",
    )
    def post(self, request: Request, project_id: str) -> Response:
        """Starts an audit of a version (the current one by default) against a catalog."""
        project = self.project(project_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        options = payload.validated_data
        job = audit_start(
            project=project,
            actor=actor_label(self.tenant_context),
            version=options.get("version"),
            catalog=options.get("catalog", DEFAULT_CATALOG),
            edition=options.get("edition"),
            index=options.get("index"),
            created_by=self.tenant_context.user,
            created_by_key=self.tenant_context.api_key,
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


# Findings and waivers -----------------------------------------------------------------------------
class FindingOutputSerializer(RowsSerializerMixin, serializers.ModelSerializer):
    # A finding, from a model or a `values(*row_values())` row (the list reads rows). (No
    # docstring: it would be the schema component's description.)

    extra_values = ("waiver_id",)

    version = serializers.IntegerField(source="version.number")
    position = serializers.UUIDField(source="position_id")
    catalog = serializers.UUIDField(source="catalog_id", allow_null=True)
    catalog_item = serializers.UUIDField(source="catalog_item_id", allow_null=True)
    report = serializers.UUIDField(source="report_id", allow_null=True)
    confidence = serializers.DecimalField(max_digits=4, decimal_places=3, coerce_to_string=True)
    waived = serializers.SerializerMethodField()
    waiver = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id",
            "version",
            "position",
            "line_key",
            "source_line",
            "rule",
            "role",
            "recommendation",
            "confidence",
            "reasoning",
            "suggested_fix",
            "evidence",
            "catalog",
            "catalog_item",
            "catalog_version",
            "report",
            "waived",
            "waiver",
            "created_at",
        ]

    def get_waived(self, finding: Finding | dict) -> bool:
        return _waiver_id(finding) is not None

    def get_waiver(self, finding: Finding | dict) -> str | None:
        """The active waiver's id, if any."""
        waiver_id = _waiver_id(finding)
        return str(waiver_id) if waiver_id is not None else None


def _waiver_id(finding: Finding | dict) -> Any:
    """The `waiver_id` finding_list annotates, on a row or an instance."""
    if isinstance(finding, dict):
        return finding["waiver_id"]
    return getattr(finding, "waiver_id", None)


class FindingPage(CursorPage):
    ordering = ("line_key", "rule", "id")


class FindingListApi(ProjectScopedApi):
    pagination_class = FindingPage

    class FilterSerializer(serializers.Serializer):
        version = StrictIntegerField(
            min_value=1, required=False, help_text="A version number; the current one if omitted."
        )
        status = serializers.ChoiceField(
            choices=Recommendation.choices, required=False, help_text="The finding's verdict."
        )
        rule = query_text_field(max_length=64, required=False)
        line_key = query_text_field(max_length=512, required=False)
        waived = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        operation_id="findings_list",
        parameters=[FilterSerializer],
        responses=FindingOutputSerializer(many=True),
    )
    def get(self, request: Request, project_id: str) -> Response:
        """The findings of a version (the current one by default), each with its active waiver."""
        project = self.project(project_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        options = dict(filters.validated_data)
        number = options.pop("version", None)
        if number is not None:
            version = version_get(tenant=self.tenant, project=project, number=number)
        elif project.current_version is not None:
            version = project.current_version
        else:
            return Response({"results": [], "next": None})
        findings = selectors.finding_list(
            tenant=self.tenant, project=project, version=version, **options
        ).values(*FindingOutputSerializer.row_values())
        paginator = self.pagination_class()
        page: list[dict] | None = paginator.paginate_queryset(findings, request, view=self)
        return paginator.get_paginated_response(FindingOutputSerializer(page, many=True).data)


class WaiverOutputSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number")
    active = serializers.SerializerMethodField()

    class Meta:
        model = Waiver
        fields = [
            "id",
            "version",
            "line_key",
            "rule",
            "finding_reasoning",
            "reason",
            "actor",
            "created_at",
            "active",
            "withdrawn_at",
            "withdrawn_by",
            "withdrawn_reason",
        ]

    def get_active(self, waiver: Waiver) -> bool:
        return waiver.withdrawn_at is None


class FindingWaiveApi(ProjectScopedApi):
    model = Finding

    @extend_schema_serializer(component_name="FindingWaive")
    class InputSerializer(serializers.Serializer):
        reason = text_field(max_length=5000, help_text="Why the finding does not count.")

    @extend_schema(
        request=InputSerializer,
        responses={201: WaiverOutputSerializer},
        description="Waives the finding: it no longer counts toward its position's status.",
    )
    def post(self, request: Request, project_id: str, pk: str) -> Response:
        """Waives the finding, with a reason."""
        project = self.project(project_id)
        finding = selectors.finding_get(tenant=self.tenant, project=project, finding_id=pk)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        waiver = finding_waive(
            finding=finding,
            reason=payload.validated_data["reason"],
            created_by=self.tenant_context.user,
            actor=actor_label(self.tenant_context),
        )
        return Response(WaiverOutputSerializer(waiver).data, status=status.HTTP_201_CREATED)


class WaiverPage(CursorPage):
    ordering = "-created_at"


class WaiverListApi(ProjectScopedApi):
    pagination_class = WaiverPage

    class FilterSerializer(serializers.Serializer):
        version = StrictIntegerField(min_value=1, required=False)
        line_key = query_text_field(max_length=512, required=False)
        active = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        operation_id="waivers_list",
        parameters=[FilterSerializer],
        responses=WaiverOutputSerializer(many=True),
        description="Every waiver of the project, withdrawn ones too.",
    )
    def get(self, request: Request, project_id: str) -> Response:
        """Every waiver of the project, withdrawn ones too."""
        project = self.project(project_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        options = dict(filters.validated_data)
        number = options.pop("version", None)
        version = (
            version_get(tenant=self.tenant, project=project, number=number)
            if number is not None
            else None
        )
        waivers = selectors.waiver_list(
            tenant=self.tenant, project=project, version=version, **options
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(waivers, request, view=self)
        return paginator.get_paginated_response(WaiverOutputSerializer(page, many=True).data)


class WaiverWithdrawApi(ProjectScopedApi):
    model = Waiver

    @extend_schema_serializer(component_name="WaiverWithdraw")
    class InputSerializer(serializers.Serializer):
        reason = text_field(max_length=5000, help_text="Why the finding counts again.")

    @extend_schema(
        request=InputSerializer,
        responses=WaiverOutputSerializer,
        description="Withdraws the waiver: its finding counts again; the waiver stays listed.",
    )
    def post(self, request: Request, project_id: str, pk: str) -> Response:
        """Withdraws the waiver, with a reason."""
        project = self.project(project_id)
        waiver = selectors.waiver_get(tenant=self.tenant, project=project, waiver_id=pk)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        waiver = waiver_withdraw(
            waiver=waiver,
            reason=payload.validated_data["reason"],
            by=actor_label(self.tenant_context),
        )
        return Response(WaiverOutputSerializer(waiver).data)


# Reports ------------------------------------------------------------------------------------------
class ReportOutputSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id")
    version = serializers.IntegerField(source="version.number")
    catalog = serializers.UUIDField(source="catalog_id", allow_null=True)
    document = serializers.SerializerMethodField()
    job = serializers.UUIDField(source="job_id", allow_null=True)

    class Meta:
        model = AuditReport
        fields = [
            "id",
            "project",
            "number",
            "version",
            "catalog",
            "catalog_version",
            "sha256",
            "previous_sha256",
            "green_count",
            "amber_count",
            "red_count",
            "finding_count",
            "document",
            "job",
            "actor",
            "created_at",
        ]

    def get_document(self, report: AuditReport) -> dict:
        """The stored JSON: its evidence id, size and where to download it."""
        return {
            "id": str(report.document_id),
            "size": report.document.size,
            "download": reverse("evidence-download", args=[report.document_id]),
        }


class ReportPage(CursorPage):
    ordering = "-number"


class ReportListApi(ProjectScopedApi):
    pagination_class = ReportPage

    @extend_schema(operation_id="reports_list", responses=ReportOutputSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's audit reports, newest first."""
        project = self.project(project_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.report_list(tenant=self.tenant, project=project), request, view=self
        )
        return paginator.get_paginated_response(ReportOutputSerializer(page, many=True).data)


class ReportDetailApi(TenantAPIView):
    model = AuditReport

    @extend_schema(responses=ReportOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        """One audit report: its counts, hashes and the link in its project's chain."""
        report = selectors.report_get(tenant=self.tenant, report_id=pk)
        return Response(ReportOutputSerializer(report).data)


class ReportVerifyApi(ProjectScopedApi):
    @extend_schema_serializer(component_name="ReportChainVerification")
    class OutputSerializer(serializers.Serializer):
        ok = serializers.BooleanField()
        project = serializers.UUIDField()
        reports = serializers.IntegerField(help_text="How many reports were checked.")
        problems = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        operation_id="reports_verify",
        responses=OutputSerializer,
        description="Checks the project's chain of reports: every stored document against its "
        "hash, every link, and the newest report's verdicts against the findings, the positions' "
        "statuses (with the active waivers) and the project's counts.",
    )
    def get(self, request: Request, project_id: str) -> Response:
        """Verifies the project's chain of audit reports."""
        project = self.project(project_id)
        return Response(report_chain_verify(project=project).as_dict())
