from dataclasses import asdict

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ApiError
from core.fields import text_field
from core.pagination import CursorPage
from tenants.filters import RequestLogFilter
from tenants.invitations import MAX_EMAIL_LENGTH, member_invite
from tenants.models import ApiKey, RequestLog, Role
from tenants.scoping import TenantAPIView, TenantScopedGenericAPIView
from tenants.selectors import api_key_list, request_log_list, tenant_usage
from tenants.services import api_key_create, api_key_revoke


class MeApi(TenantAPIView):
    class OutputSerializer(serializers.Serializer):
        tenant = inline_serializer(
            "MeTenant",
            fields={
                "id": serializers.UUIDField(),
                "slug": serializers.CharField(),
                "name": serializers.CharField(),
                "status": serializers.CharField(),
            },
        )
        role = serializers.CharField()
        plan = serializers.CharField()
        quotas = serializers.DictField(child=serializers.IntegerField())
        usage = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))
        principal = serializers.DictField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        """Who you are here: the tenant, your role, the plan's quotas and this month's usage."""
        context = self.tenant_context
        tenant = context.tenant
        if context.api_key is not None:
            principal = {
                "type": "api_key",
                "id": str(context.api_key.id),
                "name": context.api_key.name,
            }
        else:
            assert context.user is not None  # a context without an API key is a user's
            principal = {"type": "user", "username": context.user.get_username()}
        data = {
            "tenant": {
                "id": tenant.id,
                "slug": tenant.slug,
                "name": tenant.name,
                "status": tenant.status,
            },
            "role": context.role,
            "plan": tenant.plan,
            "quotas": asdict(tenant.quotas),
            "usage": tenant_usage(tenant=tenant),
            "principal": principal,
        }
        # Already in its output shape: the serializer documents it (and schemathesis checks the
        # answer against that), without a per-request copy of its nested fields.
        return Response(data)


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_at", "last_used_at", "revoked_at"]


class ApiKeyListCreateApi(TenantScopedGenericAPIView):
    model = ApiKey
    read_role = Role.ADMIN
    write_role = Role.ADMIN
    serializer_class = ApiKeyOutputSerializer
    pagination_class = CursorPage

    class InputSerializer(serializers.Serializer):
        # Kept as sent: a name is a label.
        name = text_field(max_length=100)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    class CreatedSerializer(ApiKeyOutputSerializer):
        key = serializers.CharField(help_text="The secret key. Shown only in this answer.")

        class Meta(ApiKeyOutputSerializer.Meta):
            fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]

    def get_queryset(self):
        return api_key_list(tenant=self.tenant)

    @extend_schema(operation_id="api_keys_list", responses=ApiKeyOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The tenant's API keys, newest first, revoked ones too (never the secret)."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer})
    def post(self, request: Request) -> Response:
        """Creates an API key with a role up to yours; the secret is in this answer only."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # A key may not carry more power than whoever creates it.
        if not Role.at_least(self.tenant_context.role, payload.validated_data["role"]):
            raise ApiError(
                code="forbidden",
                message="You cannot create a key with a role above your own.",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        issued = api_key_create(
            tenant=self.tenant,
            created_by=self.tenant_context.user,
            **payload.validated_data,
        )
        data = ApiKeyOutputSerializer(issued.api_key).data | {"key": issued.secret}
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(TenantScopedGenericAPIView):
    model = ApiKey
    read_role = Role.ADMIN
    write_role = Role.ADMIN
    serializer_class = ApiKeyOutputSerializer

    def get(self, request: Request, pk: str) -> Response:
        """One API key (never its secret)."""
        return Response(self.get_serializer(self.get_object()).data)

    def delete(self, request: Request, pk: str) -> Response:
        """Revokes the key at once: its next request is refused and its open websockets close."""
        api_key = self.get_object()
        # As with creating one: no revoking a key that carries more power than whoever asks.
        if not Role.at_least(self.tenant_context.role, api_key.role):
            raise ApiError(
                code="forbidden",
                message="You cannot revoke a key with a role above your own.",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        api_key_revoke(api_key=api_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RequestLogOutputSerializer(serializers.ModelSerializer):
    api_key = serializers.UUIDField(source="api_key_id", allow_null=True)
    user = serializers.CharField(source="user.username", allow_null=True, default=None)

    class Meta:
        model = RequestLog
        fields = [
            "id",
            "created_at",
            "method",
            "path",
            "status_code",
            "duration_ms",
            "request_id",
            "ip",
            "user_agent",
            "api_key",
            "user",
        ]


class RequestLogListApi(TenantScopedGenericAPIView):
    """The tenant's API requests, newest first (written within seconds of each request)."""

    model = RequestLog
    read_role = Role.ADMIN
    serializer_class = RequestLogOutputSerializer
    pagination_class = CursorPage
    filter_backends = [DjangoFilterBackend]
    filterset_class = RequestLogFilter

    def get_queryset(self):
        return request_log_list(tenant=self.tenant)

    @extend_schema(operation_id="request_log_list", responses=RequestLogOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class InvitationCreateApi(TenantAPIView):
    write_role = Role.ADMIN

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InvitationCreate"

        email = serializers.EmailField(max_length=MAX_EMAIL_LENGTH)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Invitation"

        email = serializers.EmailField()
        role = serializers.CharField()
        tenant = serializers.CharField(help_text="The tenant's slug.")

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        """Invites someone by e-mail as a member of this tenant with a role up to yours: a new user
        gets a link to choose a password, an existing one a link to sign in. Admins and owners."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        context = self.tenant_context
        member_invite(
            tenant=self.tenant,
            email=payload.validated_data["email"],
            role=payload.validated_data["role"],
            inviter_role=context.role,
            invited_by=context.user,
            site_url=request.build_absolute_uri("/"),
        )
        data = {
            "email": payload.validated_data["email"],
            "role": payload.validated_data["role"],
            "tenant": self.tenant.slug,
        }
        return Response(data, status=status.HTTP_201_CREATED)
