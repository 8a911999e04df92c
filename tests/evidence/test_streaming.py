"""On S3, a file larger than one part goes to S3 while it arrives (evidence.multipart): stored
once, with the right bytes; refused or failed anywhere, it leaves no object and no multipart
upload behind. On the tests' real S3 server."""

import hashlib
import io
import os

import pytest

from config.storages import TRANSFER_CONFIG
from core.storage_errors import is_storage_unavailable
from evidence.models import Evidence
from evidence.services import evidence_store_file
from evidence.uploads import Spool
from tests.evidence.helpers import spool_files, stored_bytes, stored_objects, upload
from tests.s3server import start_s3_server

MB = 1024 * 1024


def text(size: int) -> bytes:
    """`size` bytes of lines of random hex (sniffed as text/plain)."""
    return (os.urandom(size // 2 + 1).hex().encode())[: size - 1] + b"\n"


@pytest.fixture
def bucket(s3_server, settings) -> str:
    """A new bucket of the test S3 server, the storage of this test."""
    name = s3_server.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage(bucket=name)}
    return name


def multipart_uploads(s3_server, bucket: str) -> list[str]:
    uploads = s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return [upload["Key"] for upload in uploads]


@pytest.mark.django_db
class TestStreamedUpload:
    def test_it_is_stored_once_with_its_bytes_and_hash(self, member, tenant, s3_server, bucket):
        content = text(17 * MB)

        response = upload(member.client, content, name="big.txt")

        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["sha256"], body["size"]) == (hashlib.sha256(content).hexdigest(), len(content))
        key = Evidence.objects.get(pk=body["id"]).key
        assert key.startswith(f"tenants/{tenant.pk}/documents/")
        assert stored_objects(tenant) == [key]
        assert stored_bytes(key) == content
        head = s3_server.client().head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == "text/plain"
        assert head["ETag"].endswith('-3"'), "sent as three 8 MiB parts, never copied"
        assert multipart_uploads(s3_server, bucket) == []
        assert spool_files() == []

    def test_its_parts_are_checksummed_as_upload_file_checksums_them(
        self, member, tenant, s3_server, bucket
    ):
        content = text(9 * MB)

        response = upload(member.client, content, name="big.txt")

        key = Evidence.objects.get(pk=response.json()["id"]).key
        client = s3_server.client()
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        client.upload_fileobj(io.BytesIO(content), bucket, "upload_file", Config=TRANSFER_CONFIG)
        expected = client.head_object(Bucket=bucket, Key="upload_file", ChecksumMode="ENABLED")
        assert head.get("ChecksumCRC32") == expected["ChecksumCRC32"]  # the same composite CRC32

    def test_the_same_bytes_again_reuse_the_stored_object(self, member, tenant, s3_server, bucket):
        content = text(9 * MB)
        first = upload(member.client, content, name="one.txt").json()

        second = upload(member.client, content, name="two.txt")

        assert second.status_code == 201
        assert second.json()["duplicate"] is True
        assert second.json()["id"] == first["id"]
        assert stored_objects(tenant) == [Evidence.objects.get(pk=first["id"]).key]
        assert multipart_uploads(s3_server, bucket) == []

    def test_a_file_refused_midway_leaves_nothing(
        self, member, tenant, s3_server, bucket, settings
    ):
        settings.EVIDENCE_MAX_UPLOAD_BYTES = 12 * MB  # passed after one part was sent

        response = upload(member.client, text(17 * MB), name="big.txt")

        assert response.status_code == 413
        assert response.json()["error"]["code"] == "file_too_large"
        assert stored_objects(tenant) == []
        assert multipart_uploads(s3_server, bucket) == []
        assert spool_files() == []

    def test_a_file_refused_once_in_leaves_nothing(self, member, tenant, s3_server, bucket):
        tenant.max_evidence_bytes = 10 * MB
        tenant.save()

        response = upload(member.client, text(17 * MB), name="big.txt")

        assert response.status_code == 413
        assert response.json()["error"]["code"] == "storage_quota_exceeded"
        assert not Evidence.objects.for_tenant(tenant).exists()
        assert stored_objects(tenant) == []
        assert multipart_uploads(s3_server, bucket) == []
        assert spool_files() == []

    def test_parts_go_out_while_the_file_arrives_and_closing_aborts_them(
        self, tenant, s3_server, bucket
    ):
        spool = Spool(max_size=100 * MB, tenant_id=tenant.pk)
        for _ in range(9):
            spool.write(text(MB))

        assert spool.remote is not None
        sent = spool.remote.parts[0].result(timeout=30)  # before the body is complete
        parts = s3_server.client().list_parts(
            Bucket=bucket, Key=spool.remote.key, UploadId=spool.remote.upload_id
        )["Parts"]
        assert [part["PartNumber"] for part in parts] == [sent["PartNumber"]] == [1]

        spool.close()  # the request failed

        assert multipart_uploads(s3_server, bucket) == []
        assert stored_objects(tenant) == []
        assert spool_files() == []

    def test_a_file_stored_by_a_service_streams_the_same_way(self, tenant, s3_server, bucket):
        content = text(9 * MB)

        stored = evidence_store_file(tenant=tenant, fileobj=io.BytesIO(content), name="r.txt")

        assert stored.evidence.key.startswith(f"tenants/{tenant.pk}/documents/")
        assert stored_bytes(stored.evidence.key) == content
        assert multipart_uploads(s3_server, bucket) == []

    def test_a_small_file_keeps_its_content_address(self, member, tenant, bucket):
        response = upload(member.client, text(MB), name="small.txt")

        key = Evidence.objects.get(pk=response.json()["id"]).key
        assert key == f"tenants/{tenant.pk}/sha256/{key[-64:-62]}/{key[-62:-60]}/{key[-64:]}"


@pytest.mark.django_db
def test_a_large_upload_while_s3_is_down_is_503_and_names_no_storage(member, tenant, settings):
    server = start_s3_server()
    settings.STORAGES = {**settings.STORAGES, "default": server.storage()}
    server.stop()

    response = upload(member.client, text(9 * MB), name="big.txt")

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "storage_unavailable"
    assert server.endpoint_url.split("//")[1] not in response.content.decode()
    assert server.bucket not in response.content.decode()
    assert not Evidence.objects.for_tenant(tenant).exists()
    assert spool_files() == []


@pytest.mark.django_db
def test_a_part_that_fails_stops_the_upload_early(tenant, settings):
    """S3 goes away after the first part: the next part fails, and the next bytes received raise
    that storage error (the request answers 503) instead of spooling the rest for nothing."""
    server = start_s3_server()
    settings.STORAGES = {**settings.STORAGES, "default": server.storage()}
    spool = Spool(max_size=100 * MB, tenant_id=tenant.pk)
    try:
        for _ in range(9):
            spool.write(text(MB))
        assert spool.remote is not None
        spool.remote.parts[0].result(timeout=30)
        server.stop()
        for _ in range(8):
            spool.write(text(MB))
        failed = spool.remote.parts[1]
        assert failed.exception(timeout=60) is not None

        with pytest.raises(Exception) as raised:
            spool.write(text(MB))
        assert is_storage_unavailable(raised.value)
    finally:
        spool.close()
        server.stop()
    assert spool_files() == []
