"""Behind reverse proxies the client's address comes from X-Forwarded-For, as far as trusted."""

import pytest

from core.middleware import forwarded_client
from evidence.models import EvidenceDownload
from tenants.models import RequestLog
from tenants.request_log import request_log_flush
from tests.evidence.helpers import URL, csv_bytes, upload


@pytest.mark.parametrize(
    ("header", "proxies", "client"),
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        # The client's own claims are left of what the proxies appended.
        ("10.9.9.9, 198.51.100.1, 203.0.113.7", 1, "203.0.113.7"),
        ("198.51.100.1, 203.0.113.7", 2, "198.51.100.1"),
        ("2001:DB8::1", 1, "2001:db8::1"),
        # Fewer entries than proxies: it did not come through all of them.
        ("203.0.113.7", 2, None),
        ("", 1, None),
        ("203.0.113.7, not-an-address", 1, None),
    ],
)
def test_the_client_is_as_many_entries_from_the_right_as_there_are_proxies(header, proxies, client):
    assert forwarded_client(header, proxies=proxies) == client


@pytest.mark.django_db
class TestRecordedAddress:
    def test_without_trusted_proxies_the_header_is_ignored(self, member):
        member.client.get("/api/v1/me", HTTP_X_FORWARDED_FOR="203.0.113.7")
        request_log_flush()
        assert RequestLog.objects.get().ip == "127.0.0.1"

    def test_behind_one_proxy_the_request_log_has_the_client(self, member, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        member.client.get("/api/v1/me", HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.7")
        request_log_flush()
        assert RequestLog.objects.get().ip == "203.0.113.7"

    def test_a_malformed_header_keeps_the_peer_address_and_answers(self, member, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        response = member.client.get("/api/v1/me", HTTP_X_FORWARDED_FOR="<script>")
        assert response.status_code == 200
        request_log_flush()
        assert RequestLog.objects.get().ip == "127.0.0.1"

    def test_the_download_audit_has_the_client(self, member, tenant, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        evidence_id = upload(member.client, csv_bytes("proxied"), name="proxied.csv").json()["id"]
        response = member.client.get(
            f"{URL}{evidence_id}/download/", HTTP_X_FORWARDED_FOR="198.51.100.4"
        )
        assert response.status_code == 302
        assert EvidenceDownload.objects.for_tenant(tenant).get().ip_address == "198.51.100.4"
