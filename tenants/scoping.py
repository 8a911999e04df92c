"""DRF bases for tenant-scoped views: every object a view can reach is resolved by (tenant, id).

Every view on these bases also gets, without declaring anything: role checks (`read_role`,
`write_role`), rate limits (`read_bucket`, `write_bucket`; a view whose POST starts a job sets
`write_bucket = JOBS`) and Idempotency-Key handling on POST.
"""

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.context import TenantContext, request_tenant_context
from tenants.idempotency import (
    REPLAYED_HEADER,
    idempotency_answer,
    idempotency_claim,
    idempotency_key_from,
    request_fingerprint,
)
from tenants.models import Role, Tenant, TenantOwnedModel
from tenants.permissions import HasTenantRole
from tenants.ratelimit import READS, WRITES


class TenantAPIView(APIView):
    """An API view acting for one tenant; `read_role` and `write_role` set the roles it needs."""

    permission_classes = [IsAuthenticated, HasTenantRole]
    read_role: str = Role.VIEWER
    write_role: str = Role.MEMBER
    read_bucket: str = READS
    write_bucket: str = WRITES

    @property
    def tenant_context(self) -> TenantContext:
        return request_tenant_context(self.request)

    @property
    def tenant(self) -> Tenant:
        return self.tenant_context.tenant

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> Response:
        # DRF's APIView.dispatch, with the handler called through `_handle` so that a POST
        # carrying an Idempotency-Key runs at most once.
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = request.method.lower()  # type: ignore[union-attr]  # a served request has one
            if method in self.http_method_names:
                handler = getattr(self, method, self.http_method_not_allowed)
            else:
                handler = self.http_method_not_allowed
            response = self._handle(handler, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - DRF's own contract: every error gets handled
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def _handle(self, handler, request: Request, *args, **kwargs) -> Response:
        key = idempotency_key_from(request) if request.method == "POST" else None
        if key is None:
            return handler(request, *args, **kwargs)
        request_hash = request_fingerprint(request)
        # The key's row and the request's effect commit together, or not at all.
        with transaction.atomic():
            claim = idempotency_claim(tenant=self.tenant, key=key, request_hash=request_hash)
            if claim.replay:
                return Response(
                    claim.record.response_body,
                    status=claim.record.status_code,
                    headers={REPLAYED_HEADER: "true"},
                )
            try:
                with transaction.atomic():
                    response = handler(request, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - answered (and remembered) like any other
                # Re-raises what is not an API error: the transaction, key included, rolls back.
                response = self.handle_exception(exc)
            if response.status_code >= 500:
                # Nothing to remember: release the key with whatever the handler wrote.
                transaction.set_rollback(True)
                return response
            idempotency_answer(
                record=claim.record,
                status_code=response.status_code,
                data=getattr(response, "data", None),
            )
            return response


class TenantScopedGenericAPIView(TenantAPIView, GenericAPIView):
    """A generic view over a tenant-owned model: its queryset is always `for_tenant(tenant)`."""

    model: type[TenantOwnedModel]

    # Read-only on purpose (GenericAPIView's is a plain attribute): no view sets a queryset.
    @property
    def queryset(self) -> QuerySet:  # type: ignore[override]
        """The model without any rows, for tools that introspect views (the OpenAPI schema's
        filters); tenant data is reached only through get_queryset()."""
        return self.model.objects.none()

    def get_queryset(self) -> QuerySet:
        return self.model.objects.for_tenant(self.tenant)
