"""A URLconf with every real route plus two views that forget to scope by tenant.

Used only to show that the isolation probe catches such views."""

from django.urls import include, path
from rest_framework.response import Response

from config.urls import urlpatterns as real_urlpatterns
from tenants.apis import ApiKeyOutputSerializer
from tenants.models import ApiKey
from tenants.scoping import TenantAPIView


class LeakyApiKeyList(TenantAPIView):
    def get(self, request):
        return Response({"results": ApiKeyOutputSerializer(ApiKey.objects.all(), many=True).data})


class LeakyApiKeyRevoke(TenantAPIView):
    model = ApiKey

    def post(self, request, pk):
        api_key = ApiKey.objects.get(pk=pk)  # the bug: not for_tenant(self.tenant)
        api_key.name = "renamed by another tenant"
        api_key.save()
        return Response({"id": str(api_key.pk)})


leaky = [
    path("leaky-keys/", LeakyApiKeyList.as_view()),
    path("leaky-keys/<uuid:pk>/rename/", LeakyApiKeyRevoke.as_view()),
]

urlpatterns = [path("api/v1/", include(leaky)), *real_urlpatterns]
