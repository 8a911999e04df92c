"""A URLconf with every real route plus small views on the shared bases, standing in for
endpoints other apps add (job starts, uploads, storage writes). Used only by tests."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import include, path
from rest_framework import status
from rest_framework.response import Response

from config.urls import urlpatterns as real_urlpatterns
from tenants.models import UsageCounter
from tenants.ratelimit import JOBS
from tenants.scoping import TenantAPIView
from tenants.services import usage_consume, usage_increment


class StartJobProbe(TenantAPIView):
    """Starts "a job": counts it, as a job-starting view would."""

    write_bucket = JOBS

    def post(self, request):
        usage_increment(tenant=self.tenant, metric=UsageCounter.Metric.JOBS_STARTED)
        return Response({"started": True}, status=status.HTTP_202_ACCEPTED)


class UploadProbe(TenantAPIView):
    """Takes a multipart file and counts its bytes, as an upload would."""

    def post(self, request):
        upload = request.data["file"]
        usage_increment(
            tenant=self.tenant, metric=UsageCounter.Metric.EVIDENCE_BYTES, amount=upload.size
        )
        return Response({"size": upload.size}, status=status.HTTP_201_CREATED)


class QuotaProbe(TenantAPIView):
    """Consumes evidence bytes before storing anything, as an upload does."""

    def post(self, request):
        usage_consume(
            tenant=self.tenant,
            metric=UsageCounter.Metric.EVIDENCE_BYTES,
            amount=int(request.data["bytes"]),
        )
        return Response({}, status=status.HTTP_201_CREATED)


class BrokenProbe(TenantAPIView):
    """Writes, then fails with a bug (a 500)."""

    def post(self, request):
        usage_increment(tenant=self.tenant, metric=UsageCounter.Metric.JOBS_STARTED)
        raise RuntimeError("a bug")


class StorageProbe(TenantAPIView):
    """Stores a file in the default storage, as evidence uploads do."""

    def post(self, request):
        name = default_storage.save("probe/file.txt", ContentFile(b"evidence"))
        return Response({"name": name}, status=status.HTTP_201_CREATED)


probes = [
    path("probe/jobs/", StartJobProbe.as_view()),
    path("probe/uploads/", UploadProbe.as_view()),
    path("probe/quota/", QuotaProbe.as_view()),
    path("probe/broken/", BrokenProbe.as_view()),
    path("probe/storage/", StorageProbe.as_view()),
]

urlpatterns = [path("api/v1/", include(probes)), *real_urlpatterns]
