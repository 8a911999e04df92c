"""DRF bases for tenant-scoped views: every object a view can reach is resolved by (tenant, id)."""

from django.db.models import Model, QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from tenants.context import TenantContext, request_tenant_context
from tenants.models import Role, Tenant
from tenants.permissions import HasTenantRole


class TenantAPIView(APIView):
    """An API view acting for one tenant; `read_role` and `write_role` set the roles it needs."""

    permission_classes = [IsAuthenticated, HasTenantRole]
    read_role: str = Role.VIEWER
    write_role: str = Role.MEMBER

    @property
    def tenant_context(self) -> TenantContext:
        return request_tenant_context(self.request)

    @property
    def tenant(self) -> Tenant:
        return self.tenant_context.tenant


class TenantScopedGenericAPIView(TenantAPIView, GenericAPIView):
    """A generic view over a tenant-owned model: its queryset is always `for_tenant(tenant)`."""

    model: type[Model]

    def get_queryset(self) -> QuerySet:
        return self.model.objects.for_tenant(self.tenant)
