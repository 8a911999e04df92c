from django.urls import path

from evidence import apis

urlpatterns = [
    path("evidence/", apis.EvidenceListCreateApi.as_view(), name="evidence-list"),
    path("evidence/<uuid:pk>/", apis.EvidenceDetailApi.as_view(), name="evidence-detail"),
    path(
        "evidence/<uuid:pk>/download/",
        apis.EvidenceDownloadApi.as_view(),
        name="evidence-download",
    ),
]
