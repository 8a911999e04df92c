"""Every real route, plus a bare Django JSON view as the benchmark's baseline (never shipped in
config/urls.py: it is served only under bench/settings.py)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import handler404, handler500
from config.urls import urlpatterns as real_urlpatterns


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path("bench/bare", bare), *real_urlpatterns]

__all__ = ["handler404", "handler500", "urlpatterns"]
