"""The baseline view of bench/api.py: a DRF APIView with DRF's defaults answering the body of
Kalkula's `GET /api/v1/me` (given in BENCH_PLAIN_BODY), so both render the same JSON."""

import json
import os

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

BODY = json.loads(os.environ.get("BENCH_PLAIN_BODY", '{"status": "ok"}'))


class PlainView(APIView):
    def get(self, request: Request) -> Response:
        return Response(BODY)


urlpatterns = [path("plain", PlainView.as_view())]
