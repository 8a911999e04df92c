"""The client's address through a real ASGI server, started as `make run` starts it: whether
X-Forwarded-For is believed is Kalkula's setting (TRUSTED_PROXY_COUNT), not the server's."""

import uuid

import pytest
import requests

from tenants.models import RequestLog
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_forwarded_for_header_is_not_believed_without_trusted_proxies(asgi_server, member):
    request_id = f"e2e-{uuid.uuid4().hex}"
    response = requests.get(
        f"{asgi_server.http}/api/v1/me",
        headers={
            "Authorization": f"Api-Key {member.secret}",
            "X-Forwarded-For": "203.0.113.9",
            "X-Request-ID": request_id,
        },
        timeout=10,
    )
    assert response.status_code == 200
    entry = wait_until(
        lambda: RequestLog.objects.filter(request_id=request_id).first(),
        timeout=15,
        what="the server to write its request log",
    )
    assert entry.ip == "127.0.0.1"
