from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from core import exception_handler
from evidence.views import evidence_file
from tenants import accounts

api_v1: list[URLPattern | URLResolver] = [
    path("", include("tenants.urls")),
    path("", include("evidence.urls")),
    path("", include("jobs.urls")),
    path("", include("projects.urls")),
    path("", include("catalogs.urls")),
    path("", include("audits.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    # Browser users: the signed-in home page, choosing a tenant, and Django's own views to sign
    # in and out, change a password and reset a forgotten one (an invitation's link too).
    path("", accounts.home, name="home"),
    path("accounts/tenant/", accounts.choose_tenant, name="choose_tenant"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Signed, short-lived download links for local storage (S3 hands out presigned URLs instead).
    path("evidence-files/<str:token>", evidence_file, name="evidence-file"),
]

handler404 = exception_handler.not_found
handler500 = exception_handler.server_error
