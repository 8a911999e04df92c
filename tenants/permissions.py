"""Role checks for tenant-scoped API views."""

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from tenants.context import request_tenant_context
from tenants.models import Role


class HasTenantRole(BasePermission):
    """Reads need `view.read_role`, writes `view.write_role` (viewer and member by default)."""

    message = "Your role does not allow this."
    code = "forbidden"

    def has_permission(self, request: Request, view: APIView) -> bool:
        context = request_tenant_context(request)
        read_role = getattr(view, "read_role", Role.VIEWER)
        write_role = getattr(view, "write_role", Role.MEMBER)
        required = read_role if request.method in SAFE_METHODS else write_role
        return Role.at_least(context.role, required)
