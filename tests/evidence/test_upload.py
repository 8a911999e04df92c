import hashlib
import os
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, connections
from rest_framework.test import APIClient

from evidence.models import Evidence, evidence_key
from evidence.services import evidence_sanitize_name
from jobs.events import group_for, topic_for
from tenants.models import UsageCounter
from tenants.selectors import tenant_usage
from tests.evidence.helpers import (
    URL,
    csv_bytes,
    multipart,
    spool_files,
    stored_bytes,
    stored_objects,
    upload,
)
from tests.factories import ProjectFactory, UsageCounterFactory


def evidence_bytes_used(tenant) -> int:
    return tenant_usage(tenant=tenant)[UsageCounter.Metric.EVIDENCE_BYTES]["used"]


def assert_nothing_kept(tenant) -> None:
    assert not Evidence.objects.for_tenant(tenant).exists()
    assert stored_objects(tenant) == []
    assert spool_files() == []
    assert evidence_bytes_used(tenant) == 0


@pytest.mark.django_db
class TestUpload:
    def test_it_stores_the_bytes_under_their_content_address(self, member, tenant):
        content = csv_bytes("first")
        response = upload(member.client, content, name="budget.csv", kind="budget")

        assert response.status_code == 201, response.content
        sha256 = hashlib.sha256(content).hexdigest()
        body = response.json()
        assert body == {
            "id": body["id"],
            "sha256": sha256,
            "size": len(content),
            "content_type": "text/csv",
            "duplicate": False,
            "name": "budget.csv",
            "kind": "budget",
            "project": None,
        }
        evidence = Evidence.objects.for_tenant(tenant).get(pk=body["id"])
        key = f"tenants/{tenant.pk}/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"
        assert evidence.key == key == evidence_key(tenant_id=tenant.pk, sha256=sha256)
        assert evidence.uploaded_by_key == member.api_key
        assert stored_objects(tenant) == [key]
        assert stored_bytes(key) == content
        assert spool_files() == [], "the spooled upload is gone after the request"
        assert evidence_bytes_used(tenant) == len(content)

    def test_the_same_bytes_twice_are_stored_once(self, member, admin, tenant):
        content = csv_bytes("twice")
        first = upload(member.client, content, name="a.csv").json()
        second = upload(admin.client, content, name="b.csv")

        assert second.status_code == 201
        assert second.json()["duplicate"] is True
        assert second.json()["id"] == first["id"]
        assert second.json()["name"] == "a.csv", "the stored document is the first one"
        assert Evidence.objects.for_tenant(tenant).count() == 1
        assert len(stored_objects(tenant)) == 1
        assert evidence_bytes_used(tenant) == len(content), "a duplicate stores nothing new"
        assert spool_files() == []

    def test_another_tenant_keeps_its_own_copy(self, member, outsider, tenant, other_tenant):
        content = csv_bytes("shared")
        ours = upload(member.client, content).json()
        theirs = upload(outsider.client, content).json()

        assert theirs["duplicate"] is False
        assert theirs["id"] != ours["id"]
        assert len(stored_objects(tenant)) == len(stored_objects(other_tenant)) == 1

    def test_it_attaches_the_document_to_a_project_of_the_tenant(self, member, tenant):
        project = ProjectFactory(tenant=tenant)
        response = upload(member.client, csv_bytes("p"), project=str(project.pk))

        assert response.status_code == 201
        assert response.json()["project"] == str(project.pk)
        assert Evidence.objects.get(pk=response.json()["id"]).project == project

    def test_a_project_of_another_tenant_is_unknown(self, member, other_tenant, tenant):
        project = ProjectFactory(tenant=other_tenant)
        response = upload(member.client, csv_bytes("p"), project=str(project.pk))

        assert response.status_code == 404
        assert response.json()["error"]["message"] == "project: unknown project."
        assert_nothing_kept(tenant)

    def test_a_bad_kind_is_refused(self, member, tenant):
        response = upload(member.client, csv_bytes(), kind="selfie")
        assert response.status_code == 400
        assert "kind" in response.json()["error"]["details"]
        assert_nothing_kept(tenant)

    def test_a_viewer_cannot_upload(self, viewer, tenant):
        response = upload(viewer.client, csv_bytes())
        assert response.status_code == 403
        assert_nothing_kept(tenant)

    def test_a_request_without_a_file_names_the_field(self, member, tenant):
        response = member.client.post(URL, {"kind": "other"}, format="multipart")
        assert response.status_code == 400
        assert response.json()["error"]["details"]["file"] == ["No file was submitted."]

    def test_one_file_per_upload(self, member, tenant):
        boundary = "b0undary"
        part = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            "a,b\r\n1,2\r\n"
        )
        body = (part * 2 + f"--{boundary}--\r\n").encode()
        response = member.client.post(
            URL, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "Send one file per upload."
        assert_nothing_kept(tenant)


@pytest.mark.django_db
def test_a_file_larger_than_a_part_goes_to_s3_in_parts_read_from_disk(member, tenant, s3_storage):
    content = (os.urandom(9 * 1024 * 1024).hex().encode() + b"\n")[: 17 * 1024 * 1024]

    response = upload(member.client, content, name="big.txt")

    assert response.status_code == 201, response.content
    key = Evidence.objects.get(pk=response.json()["id"]).key
    head = s3_storage.client().head_object(Bucket=s3_storage.bucket, Key=key)
    assert (head["ContentType"], head["ContentLength"]) == ("text/plain", len(content))
    assert head["ETag"].endswith('-3"'), "a multipart upload of three 8 MiB parts"
    assert hashlib.sha256(stored_bytes(key)).hexdigest() == response.json()["sha256"]
    assert spool_files() == []


@pytest.mark.django_db
class TestRefusals:
    def test_a_file_over_the_size_limit_is_refused_and_nothing_is_kept(
        self, member, tenant, settings
    ):
        settings.EVIDENCE_MAX_UPLOAD_BYTES = 4096
        at_limit = b"x" * 4095 + b"\n"
        over = b"y" * 4096 + b"\n"

        response = upload(member.client, over, name="big.txt")

        assert response.status_code == 413
        assert response.json()["error"]["code"] == "file_too_large"
        assert response.json()["error"]["details"] == {"max_bytes": 4096}
        assert_nothing_kept(tenant)
        assert upload(member.client, at_limit, name="fits.txt").status_code == 201

    def test_a_body_far_over_the_limit_is_refused_before_it_is_read(self, member, tenant, settings):
        settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024
        response = upload(member.client, b"z" * (2 * 1024 * 1024), name="huge.txt")
        assert response.status_code == 413
        assert_nothing_kept(tenant)

    @pytest.mark.parametrize(
        ("content", "name", "sniffed"),
        [
            (b"<html><body><script>alert(1)</script></body></html>", "page.html", "text/html"),
            # The name and the client's Content-Type say CSV; the bytes say shell script.
            (b"#!/bin/sh\nrm -rf /\n", "budget.csv", "text/x-shellscript"),
            (b"\x7fELF\x02\x01\x01" + bytes(200), "invoice.pdf", "application/octet-stream"),
        ],
    )
    def test_a_type_outside_the_allow_list_is_refused(self, member, tenant, content, name, sniffed):
        response = upload(member.client, content, name=name)

        assert response.status_code == 415
        assert response.json()["error"]["code"] == "unsupported_type"
        assert response.json()["error"]["details"] == {"content_type": sniffed}
        assert_nothing_kept(tenant)

    def test_an_empty_file_is_refused(self, member, tenant):
        response = upload(member.client, b"", name="empty.csv")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "empty_file"
        assert_nothing_kept(tenant)

    def test_over_the_storage_quota_nothing_is_stored(self, member, tenant):
        tenant.max_evidence_bytes = 100
        tenant.save()
        first = b"a" * 59 + b"\n"
        assert upload(member.client, first, name="one.txt").status_code == 201

        response = upload(member.client, b"b" * 59 + b"\n", name="two.txt")

        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "storage_quota_exceeded"
        assert error["details"] == {"used": 60, "limit": 100, "size": 60}
        assert Evidence.objects.for_tenant(tenant).count() == 1
        assert len(stored_objects(tenant)) == 1
        assert evidence_bytes_used(tenant) == 60
        assert spool_files() == []

    def test_over_the_monthly_upload_quota_nothing_is_stored(self, member, tenant):
        tenant.max_evidence_bytes = 1000
        tenant.save()
        UsageCounterFactory(tenant=tenant, metric=UsageCounter.Metric.EVIDENCE_BYTES, value=990)

        response = upload(member.client, csv_bytes("monthly"), name="late.csv")

        assert response.status_code == 429
        assert response.json()["error"]["code"] == "quota_exceeded"
        assert not Evidence.objects.for_tenant(tenant).exists()
        assert stored_objects(tenant) == []
        assert evidence_bytes_used(tenant) == 990


@pytest.mark.django_db
class TestFileNames:
    def test_directories_and_control_characters_are_stripped(self, member, tenant):
        response = upload(
            member.client, csv_bytes(), name="../../etc/\x01pass\x1bwd\u202e\u200b  .. .csv"
        )
        assert response.status_code == 201, response.content
        assert response.json()["name"] == "passwd .. .csv"
        assert Evidence.objects.get(pk=response.json()["id"]).name == "passwd .. .csv"

    def test_a_name_that_is_only_a_parent_directory_is_no_file(self, member, tenant):
        body, content_type = multipart(filename="..", content=csv_bytes())
        response = member.client.post(URL, data=body, content_type=content_type)
        assert response.status_code == 400
        assert_nothing_kept(tenant)

    @pytest.mark.parametrize(
        ("raw", "clean"),
        [
            ("../../etc/passwd", "passwd"),
            ("..\\..\\Windows\\win.ini", "win.ini"),
            ("C:\\Users\\eve\\rozpočet 2024.xlsx", "rozpočet 2024.xlsx"),
            ("invoice\u202efdp.exe", "invoicefdp.exe"),
            ("a\tb\nc\x00d\x7f.csv", "abcd.csv"),
            ("...hidden", "hidden"),
            ("  spaced   out  .txt ", "spaced out .txt"),
            ("..", "unnamed"),
            ("", "unnamed"),
            ("Rozpoc\u030cet.csv", "Rozpočet.csv"),
            ("x" * 300 + ".xlsx", "x" * 195 + ".xlsx"),
        ],
    )
    def test_sanitising(self, raw, clean):
        assert evidence_sanitize_name(raw) == clean


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_of_the_same_bytes_store_one_object_and_one_row(member, tenant):
    """Two requests race with the same bytes: one stores them, the other gets `duplicate`. On
    PostgreSQL they run in parallel threads; SQLite allows one writer, so there they take turns."""
    content = csv_bytes("race") * 2000
    barrier = threading.Barrier(2, timeout=30)
    responses = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {member.secret}")
        try:
            barrier.wait()
            responses.append(upload(client, content, name="race.csv"))
        finally:
            connections.close_all()

    if connection.vendor == "postgresql":
        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    else:
        barrier = threading.Barrier(1)
        send()
        send()

    assert [r.status_code for r in responses] == [201, 201], [r.content for r in responses]
    bodies = [r.json() for r in responses]
    assert sorted(b["duplicate"] for b in bodies) == [False, True]
    assert bodies[0]["id"] == bodies[1]["id"]
    assert Evidence.objects.for_tenant(tenant).count() == 1
    assert len(stored_objects(tenant)) == 1
    assert evidence_bytes_used(tenant) == len(content)
    assert spool_files() == []


@pytest.mark.django_db
def test_an_upload_is_announced_on_the_tenant_and_project_topics(
    member, tenant, django_capture_on_commit_callbacks
):
    project = ProjectFactory(tenant=tenant)
    layer = get_channel_layer()
    topics = [topic_for("tenant", tenant.pk), topic_for("project", project.pk)]
    channels = {}
    for topic in topics:
        channels[topic] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group_for(topic), channels[topic])

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(member.client, csv_bytes("event"), name="e.csv", project=str(project.pk))

    body = response.json()
    for topic, channel in channels.items():
        message = async_to_sync(layer.receive)(channel)
        assert message["tenant_id"] == str(tenant.pk)
        assert message["event"]["type"] == "evidence.uploaded"
        assert message["event"]["topic"] == topic
        assert message["event"]["data"] == {
            "id": body["id"],
            "name": "e.csv",
            "sha256": body["sha256"],
            "size": body["size"],
            "content_type": "text/csv",
            "kind": "other",
            "project": str(project.pk),
        }
        async_to_sync(layer.group_discard)(group_for(topic), channel)
