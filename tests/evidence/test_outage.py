"""With the S3 server down, uploads answer 503 and keep nothing, while the rest of the API works."""

import pytest

from evidence.models import Evidence
from tests.evidence.helpers import csv_bytes, spool_files, upload
from tests.s3server import start_s3_server


@pytest.fixture
def private_s3(settings):
    """An S3 server of this test's own, which the test may stop."""
    server = start_s3_server()
    settings.STORAGES = {**settings.STORAGES, "default": server.storage()}
    yield server
    server.stop()


@pytest.mark.django_db
def test_an_upload_while_s3_is_down_is_503_and_keeps_nothing(member, private_s3, client):
    assert upload(member.client, csv_bytes("before")).status_code == 201

    private_s3.stop()  # a real outage: nothing listens there any more
    response = upload(member.client, csv_bytes("during"), name="during.csv")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert list(Evidence.objects.for_tenant(member.tenant).values_list("name", flat=True)) == [
        "document.csv"
    ]
    assert spool_files() == []
    assert member.client.get("/api/v1/me").status_code == 200
    assert member.client.get("/api/v1/evidence/").status_code == 200
