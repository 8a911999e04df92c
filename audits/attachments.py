"""Documents attached to budget positions (by line key) and to their audit findings: the service,
its selectors and the API under /evidence/{id}/attachments/. The Attachment row belongs to
evidence; what it points at (positions, findings) is known here."""

import uuid

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from audits.models import Finding
from core.errors import ApiError, unknown_reference
from core.fields import ChoiceOfFieldsSerializer, StrictUUIDField, text_field
from core.pagination import CursorPage
from evidence.models import Attachment, Evidence
from evidence.selectors import evidence_list
from projects.models import Project
from projects.selectors import position_line_keys
from projects.services.projects import project_archived_error
from tenants.context import actor_label
from tenants.models import Tenant
from tenants.scoping import TenantScopedGenericAPIView


def attachment_create(
    *,
    evidence: Evidence,
    project: Project,
    position: str | None = None,
    finding: Finding | None = None,
    created_by: User | None = None,
    actor: str = "",
) -> tuple[Attachment, bool]:
    """Attach the document to a position of `project` (named by id or line key) or to one of its
    findings; (the attachment, True when it is new). Attaching twice is harmless."""
    if (position is None) == (finding is None):
        raise ApiError(code="invalid", message="Name either a position or a finding.")
    if project.is_archived:
        raise project_archived_error()
    if finding is not None:
        line_key, rule = finding.line_key, finding.rule
    else:
        assert position is not None  # one of the two, checked above
        (line_key,) = position_line_keys(project=project, references=[position])
        rule = ""
    attachment, created = Attachment.objects.get_or_create(
        tenant_id=evidence.tenant_id,
        evidence=evidence,
        project=project,
        line_key=line_key,
        rule=rule,
        defaults={
            "created_by": created_by if getattr(created_by, "pk", None) else None,
            "actor": actor[:200],
        },
    )
    return attachment, created


def attachment_delete(*, attachment: Attachment) -> None:
    attachment.delete()


def attachment_list(*, tenant: Tenant, evidence: Evidence) -> QuerySet[Attachment]:
    return Attachment.objects.for_tenant(tenant).filter(evidence=evidence)


def attachment_target(
    *, tenant: Tenant, project_id: uuid.UUID | None = None, finding_id: uuid.UUID | None = None
) -> tuple[Project, Finding | None]:
    """The project, and the finding when one is named, that a request asks to attach a document
    to. An unknown one (another tenant's, a deleted project) is a 404 naming the field."""
    if finding_id is not None:
        finding = (
            Finding.objects.for_tenant(tenant)
            .select_related("project")
            .filter(pk=finding_id)
            .first()
        )
        if finding is None:
            raise unknown_reference("finding")
        return finding.project, finding
    project = (
        Project.objects.for_tenant(tenant).filter(pk=project_id, deleted_at__isnull=True).first()
        if project_id is not None
        else None
    )
    if project is None:
        raise unknown_reference("project")
    return project, None


class AttachmentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "evidence", "project", "line_key", "rule", "actor", "created_at"]


class AttachmentListCreateApi(TenantScopedGenericAPIView):
    """The positions and findings a document is attached to; POST attaches it to one more."""

    model = Evidence
    serializer_class = AttachmentOutputSerializer
    pagination_class = CursorPage

    class InputSerializer(ChoiceOfFieldsSerializer):
        class Meta:
            ref_name = "AttachmentCreate"

        one_of = (("finding",), ("project", "position"))
        one_of_message = "Name a finding, or a project and one of its positions."
        never_together = ((("finding", "position"), "Name a position or a finding, not both."),)

        project = StrictUUIDField(
            required=False, help_text="The position's project (not needed with a finding)."
        )
        position = text_field(
            required=False, max_length=512, help_text="A position of the project: id or line key."
        )
        finding = StrictUUIDField(required=False, help_text="An audit finding's id.")

    def evidence(self, evidence_id: str) -> Evidence:
        return get_object_or_404(evidence_list(tenant=self.tenant), pk=evidence_id)

    @extend_schema(responses=AttachmentOutputSerializer(many=True))
    def get(self, request: Request, evidence_id: str) -> Response:
        evidence = self.evidence(evidence_id)
        page = self.paginate_queryset(attachment_list(tenant=self.tenant, evidence=evidence))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: AttachmentOutputSerializer, 200: AttachmentOutputSerializer},
    )
    def post(self, request: Request, evidence_id: str) -> Response:
        evidence = self.evidence(evidence_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        project, finding = attachment_target(
            tenant=self.tenant, project_id=data.get("project"), finding_id=data.get("finding")
        )
        attachment, created = attachment_create(
            evidence=evidence,
            project=project,
            position=data.get("position"),
            finding=finding,
            created_by=self.tenant_context.user,
            actor=actor_label(self.tenant_context),
        )
        return Response(
            self.get_serializer(attachment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class AttachmentDetailApi(TenantScopedGenericAPIView):
    model = Attachment

    def get_queryset(self):
        return Attachment.objects.for_tenant(self.tenant).filter(
            evidence_id=self.kwargs["evidence_id"]
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request, evidence_id: str, pk: str) -> Response:
        """Detaches the document from the position or finding (the document stays)."""
        attachment_delete(attachment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
