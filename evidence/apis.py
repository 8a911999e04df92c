from typing import cast

from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import unknown_reference
from core.fields import StrictUUIDField, UploadField, body, query_text_field
from core.pagination import CursorPage
from core.serializers import RowsSerializerMixin, query_filters
from evidence.models import Evidence
from evidence.selectors import EvidenceFilters, evidence_list
from evidence.services import (
    evidence_download_link,
    evidence_store,
)
from evidence.uploads import StreamingUploadMixin
from projects.models import Project
from tenants.scoping import TenantScopedGenericAPIView


class EvidenceOutputSerializer(RowsSerializerMixin, serializers.ModelSerializer):
    # A document, from a model or a `values(*row_values())` row (the list reads rows). (No
    # docstring: it would be the schema component's description.)

    extra_values = (
        f"uploaded_by__{get_user_model().USERNAME_FIELD}",
        "uploaded_by_key__name",
        "uploaded_by_key__prefix",
    )
    uploaded_by = serializers.SerializerMethodField(
        help_text="Who uploaded it: a user's name, or `API key <name> (<prefix>)`; null for "
        "documents the platform made itself."
    )
    uploaded_by_key = serializers.UUIDField(
        source="uploaded_by_key_id",
        read_only=True,
        allow_null=True,
        help_text="The API key it was uploaded with.",
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_uploaded_by(self, evidence: Evidence | dict) -> str | None:
        if isinstance(evidence, dict):
            username, key_name, key_prefix = (evidence[name] for name in self.extra_values)
            if username is not None:
                return username
            if key_name is not None:
                return f"API key {key_name} ({key_prefix})"
            return None
        if evidence.uploaded_by is not None:
            return evidence.uploaded_by.get_username()
        if evidence.uploaded_by_key is not None:
            key = evidence.uploaded_by_key
            return f"API key {key.name} ({key.prefix})"
        return None

    class Meta:
        model = Evidence
        fields = [
            "id",
            "name",
            "sha256",
            "size",
            "content_type",
            "kind",
            "project",
            "uploaded_by",
            "uploaded_by_key",
            "created_at",
            "text_status",
        ]


class EvidenceListCreateApi(StreamingUploadMixin, TenantScopedGenericAPIView):
    model = Evidence
    serializer_class = EvidenceOutputSerializer
    pagination_class = CursorPage
    parser_classes = [MultiPartParser]

    class FilterSerializer(serializers.Serializer):
        project = serializers.UUIDField(required=False)
        kind = serializers.ChoiceField(choices=Evidence.Kind.choices, required=False)
        q = query_text_field(required=False, max_length=200)
        line_key = query_text_field(
            required=False,
            max_length=512,
            help_text="Documents attached to this position (its line key) or to its findings.",
        )

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "EvidenceUpload"

        # Empty files reach the service, which refuses them with its own error code.
        file = UploadField(allow_empty_file=True, help_text="The document.")
        kind = serializers.ChoiceField(choices=Evidence.Kind.choices, default=Evidence.Kind.OTHER)
        project = StrictUUIDField(required=False)

    class CreatedSerializer(serializers.Serializer):
        class Meta:
            ref_name = "EvidenceUploaded"

        id = serializers.UUIDField()
        sha256 = serializers.CharField()
        size = serializers.IntegerField()
        content_type = serializers.CharField()
        duplicate = serializers.BooleanField(
            help_text="True when the tenant had these bytes already: nothing new was stored."
        )
        name = serializers.CharField()
        kind = serializers.CharField()
        project = serializers.UUIDField(allow_null=True)

    def get_queryset(self):
        filters = query_filters(self.FilterSerializer, self.request.query_params)
        return evidence_list(tenant=self.tenant, filters=cast(EvidenceFilters, filters))

    @extend_schema(
        operation_id="evidence_list",
        parameters=[FilterSerializer],
        responses=EvidenceOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The tenant's documents, newest first; search by name or content with `q`."""
        rows = self.get_queryset().values(*EvidenceOutputSerializer.row_values())
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer}, responses={201: CreatedSerializer}
    )
    def post(self, request: Request) -> Response:
        """Uploads a document (multipart `file`): stored once per tenant by its SHA-256, its type
        sniffed from the bytes."""
        payload = self.InputSerializer(data=body(request))
        payload.is_valid(raise_exception=True)
        project = None
        if payload.validated_data.get("project"):
            project = (
                Project.objects.for_tenant(self.tenant)
                .filter(pk=payload.validated_data["project"], deleted_at__isnull=True)
                .first()
            )
            if project is None:
                raise unknown_reference("project")
        context = self.tenant_context
        stored = evidence_store(
            tenant=self.tenant,
            upload=payload.validated_data["file"],
            kind=payload.validated_data["kind"],
            project=project,
            uploaded_by=context.user,
            api_key=context.api_key,
        )
        evidence = stored.evidence
        data = {
            "id": evidence.id,
            "sha256": evidence.sha256,
            "size": evidence.size,
            "content_type": evidence.content_type,
            "duplicate": stored.duplicate,
            "name": evidence.name,
            "kind": evidence.kind,
            "project": evidence.project_id,
        }
        return Response(self.CreatedSerializer(data).data, status=status.HTTP_201_CREATED)


class EvidenceDetailApi(TenantScopedGenericAPIView):
    model = Evidence
    serializer_class = EvidenceOutputSerializer

    def get_queryset(self):
        return evidence_list(tenant=self.tenant)

    def get(self, request: Request, pk: str) -> Response:
        """One document: its name, hash, size, type, kind and project."""
        return Response(self.get_serializer(self.get_object()).data)


class EvidenceDownloadApi(TenantScopedGenericAPIView):
    model = Evidence

    def get_queryset(self):
        return evidence_list(tenant=self.tenant)

    @extend_schema(
        responses={
            302: OpenApiResponse(
                description="Location: a link valid for at most five minutes that downloads the "
                "document under its original name.",
            )
        }
    )
    def get(self, request: Request, pk: str) -> HttpResponseRedirect:
        """Redirects to a download link valid for at most five minutes; the download is logged."""
        context = self.tenant_context
        link = evidence_download_link(
            evidence=self.get_object(),
            user=context.user,
            api_key=context.api_key,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        response = HttpResponseRedirect(request.build_absolute_uri(link))
        response["Cache-Control"] = "no-store"
        return response
