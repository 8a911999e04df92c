"""Project discussion."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import text_field
from core.pagination import CursorPage
from projects import selectors
from projects.apis.common import ProjectScopedApi
from projects.models import Comment
from projects.services import comment_create
from tenants.context import actor_label


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
        body = text_field(max_length=10_000)
        positions = serializers.ListField(
            child=text_field(max_length=512),
            max_length=100,
            required=False,
            help_text="Positions the comment is about: ids or line keys.",
        )

    @extend_schema(operation_id="comments_list", responses=CommentOutputSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's discussion, newest first."""
        project = self.project(project_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.comment_list(tenant=self.tenant, project=project), request, view=self
        )
        return paginator.get_paginated_response(CommentOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CommentOutputSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Posts a comment, optionally about positions; pushed live as `comment.created`."""
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
