"""The over-HTTP dispatch baseline of bench/jobs.py: bench/api.py's plain project (startproject's
settings, Django's default middleware, DRF with its defaults) with one view that starts the bare
task (`bench.raw_task`) with plain Celery on the benchmark's broker and answers 202: what a team
that chose raw Celery over Kalkula's jobs would put behind its API. No Kalkula code: no key, no
rate limit, no job row, no claim."""

import os

from celery import Celery
from django.urls import path
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

celery = Celery("plain", broker=os.environ["CELERY_BROKER_URL"])
celery.conf.task_serializer = "json"


class StartTaskView(APIView):
    def post(self, request: Request) -> Response:
        celery.send_task(
            "bench.raw_task",
            args=[request.data["sent_at"], request.data["results_key"]],
            queue=request.data["queue"],
        )
        return Response({"started": True}, status=status.HTTP_202_ACCEPTED)


urlpatterns = [path("start", StartTaskView.as_view())]
