import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from evidence.models import Evidence, evidence_key, evidence_streamed_key
from evidence.services import evidence_purge_abandoned_uploads, evidence_verify
from tenants.models import Role
from tests.evidence.helpers import spool_files, stored_objects
from tests.factories import EvidenceFactory, MembershipFactory


def verify(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("verify_evidence", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def overwrite(key: str, content: bytes) -> None:
    """Change a stored object's bytes behind Kalkula's back (bit rot, a bad restore)."""
    default_storage.delete(key)
    assert default_storage.save(key, ContentFile(content)) == key


@pytest.mark.django_db
class TestVerify:
    def test_intact_objects_pass(self, tenant, other_tenant):
        EvidenceFactory(tenant=tenant)
        EvidenceFactory(tenant=other_tenant)

        output, error = verify()

        assert error is None
        assert "2 checked, 2 intact, 0 missing or corrupt." in output

    def test_a_corrupted_object_and_a_missing_one_are_reported(self, tenant):
        corrupt = EvidenceFactory(tenant=tenant)
        missing = EvidenceFactory(tenant=tenant)
        EvidenceFactory(tenant=tenant)
        overwrite(corrupt.key, b"Evidence document number 0!\n")
        default_storage.delete(missing.key)

        output, error = verify("--tenant", tenant.slug)

        assert str(error) == "3 checked, 1 intact, 2 missing or corrupt."
        assert (
            f"CORRUPT evidence {corrupt.pk} (tenant {tenant.pk}) {corrupt.key}: stored " in output
        )
        assert f"expected {corrupt.size} bytes with SHA-256 {corrupt.sha256}" in output
        assert f"MISSING evidence {missing.pk} (tenant {tenant.pk}) {missing.key}" in output

    def test_a_corrupted_object_on_s3_is_caught(self, tenant, s3_storage):
        evidence = EvidenceFactory(tenant=tenant)
        # Same size, one byte different: only the hash can tell.
        s3_storage.client().put_object(
            Bucket=s3_storage.bucket,
            Key=evidence.key,
            Body=b"Xvidence" + b"." * (evidence.size - 8),
        )

        result = evidence_verify(evidence=evidence)

        assert (result.status, result.key) == ("corrupt", evidence.key)
        assert result.detail.startswith(f"stored {evidence.size} bytes with SHA-256 ")

    def test_it_checks_one_tenant_when_asked(self, tenant, other_tenant):
        EvidenceFactory(tenant=tenant)
        theirs = EvidenceFactory(tenant=other_tenant)
        default_storage.delete(theirs.key)

        output, error = verify("--tenant", tenant.slug)

        assert error is None
        assert "1 checked, 1 intact" in output

    def test_an_unknown_tenant_is_an_error(self, db):
        assert str(verify("--tenant", "nope")[1]) == "No tenant 'nope'."


@pytest.mark.django_db
class TestAdmin:
    @pytest.fixture
    def superuser_client(self, client):
        get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
        client.login(username="root", password="pw-for-tests-only")
        return client

    def test_the_verify_action_reports_corrupt_objects(self, superuser_client, tenant):
        good = EvidenceFactory(tenant=tenant, name="good.txt")
        bad = EvidenceFactory(tenant=tenant, name="bad.txt")
        overwrite(bad.key, b"tampered")

        response = superuser_client.post(
            "/admin/evidence/evidence/",
            {"action": "verify_integrity", "_selected_action": [good.pk, bad.pk]},
            follow=True,
        )

        page = response.content.decode()
        assert f"CORRUPT: {bad.key}" in page
        assert "2 checked: 1 missing or corrupt." in page

    def test_a_tenant_admin_sees_only_their_tenants_documents(self, client, tenant, other_tenant):
        membership = MembershipFactory(tenant=tenant, role=Role.ADMIN)
        membership.user.is_staff = True
        membership.user.save()
        membership.user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="evidence")
        )
        client.force_login(membership.user)
        ours = EvidenceFactory(tenant=tenant, name="ours.txt")
        theirs = EvidenceFactory(tenant=other_tenant, name="theirs.txt")

        listing = client.get("/admin/evidence/evidence/").text

        assert "ours.txt" in listing
        assert "theirs.txt" not in listing
        assert client.get(f"/admin/evidence/evidence/{ours.pk}/change/").status_code == 200
        assert client.get(f"/admin/evidence/evidence/{theirs.pk}/change/").status_code == 302

    def test_the_list_and_a_document_page_render(self, superuser_client, tenant):
        evidence = EvidenceFactory(tenant=tenant, name="site-report.txt")
        assert "site-report.txt" in superuser_client.get("/admin/evidence/evidence/").text
        page = superuser_client.get(f"/admin/evidence/evidence/{evidence.pk}/change/")
        assert page.status_code == 200
        assert superuser_client.get("/admin/evidence/evidencedownload/").status_code == 200


@pytest.mark.django_db
class TestPurgeAbandonedUploads:
    def test_old_spool_files_go_and_fresh_ones_stay(self, settings):
        spool = settings.EVIDENCE_SPOOL_DIR
        old, fresh = spool / "evidence-old.part", spool / "evidence-fresh.part"
        old.write_bytes(b"half an upload")
        fresh.write_bytes(b"an upload in progress")
        two_hours_ago = time.time() - 7200
        os.utime(old, (two_hours_ago, two_hours_ago))

        assert evidence_purge_abandoned_uploads(older_than=timedelta(hours=1)) == 1

        assert spool_files() == ["evidence-fresh.part"]
        fresh.unlink()

    def test_objects_no_evidence_row_names_are_removed(self, tenant, empty_storage):
        kept = EvidenceFactory(tenant=tenant)
        orphan = evidence_key(tenant_id=tenant.pk, sha256="ab" * 32)
        default_storage.save(orphan, ContentFile(b"stored, then the process died"))
        default_storage.save(kept.key + "_x7Yz9Qa", ContentFile(b"a racing spare copy"))
        streamed = evidence_streamed_key(tenant_id=tenant.pk)
        default_storage.save(streamed, ContentFile(b"sent while it arrived, never committed"))
        unrelated = default_storage.save(f"tenants/{tenant.pk}/reports/r.json", ContentFile(b"{}"))

        assert evidence_purge_abandoned_uploads(older_than=timedelta(0)) == 3

        assert stored_objects(tenant) == sorted([kept.key, unrelated])
        assert Evidence.objects.get() == kept

    def test_unfinished_multipart_uploads_are_aborted_on_s3(self, tenant, s3_server, settings):
        bucket = s3_server.new_bucket()
        settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage(bucket=bucket)}
        client = s3_server.client()
        client.create_multipart_upload(
            Bucket=bucket, Key=evidence_key(tenant_id=tenant.pk, sha256="cd" * 32)
        )
        client.create_multipart_upload(
            Bucket=bucket, Key=evidence_streamed_key(tenant_id=tenant.pk)
        )

        assert evidence_purge_abandoned_uploads(older_than=timedelta(0)) == 2

        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
