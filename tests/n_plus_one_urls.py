"""A URLconf with every real route plus a list view that runs a query per row.

Used only to show that the query-count probe catches such views."""

from django.urls import include, path

from config.urls import urlpatterns as real_urlpatterns
from core.pagination import CursorPage
from projects.models import Project
from tenants.scoping import TenantAPIView


class ProjectNamesWithVersionCounts(TenantAPIView):
    def get(self, request):
        paginator = CursorPage()
        page = paginator.paginate_queryset(Project.objects.for_tenant(self.tenant), request, self)
        rows = [{"name": p.name, "versions": p.versions.count()} for p in page]  # the bug
        return paginator.get_paginated_response(rows)


urlpatterns = [
    path("api/v1/", include([path("n-plus-one/", ProjectNamesWithVersionCounts.as_view())])),
    *real_urlpatterns,
]
