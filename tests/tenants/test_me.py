import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import ApiError
from tenants.models import Role, Tenant, UsageCounter
from tenants.services import (
    current_month,
    positions_quota_check,
    usage_consume,
    usage_increment,
)
from tests.factories import MembershipFactory, ProjectFactory, TenantFactory, UserFactory


@pytest.mark.django_db
class TestMe:
    def test_an_api_key_sees_its_tenant_role_quotas_and_usage(self, member):
        usage_increment(tenant=member.tenant, metric=UsageCounter.Metric.JOBS_STARTED, amount=2)
        body = member.client.get("/api/v1/me").json()
        assert body["tenant"]["slug"] == "acme"
        assert body["tenant"]["id"] == str(member.tenant.id)
        assert body["role"] == "member"
        assert body["plan"] == "free"
        assert body["quotas"]["max_jobs_per_month"] == 200
        assert body["usage"]["jobs_started"] == {"used": 2, "limit": 200}
        assert body["principal"] == {
            "type": "api_key",
            "id": str(member.api_key.id),
            "name": "member key",
        }

    def test_it_shows_the_largest_project_against_the_positions_limit(self, member):
        ProjectFactory(tenant=member.tenant, position_count=1200)
        ProjectFactory(tenant=member.tenant, position_count=90)
        ProjectFactory(tenant=member.tenant, position_count=4000, deleted_at=timezone.now())
        ProjectFactory(position_count=4500)  # another tenant's
        usage = member.client.get("/api/v1/me").json()["usage"]
        assert usage["positions_per_project"] == {"used": 1200, "limit": 5000}

    def test_a_quota_override_wins_over_the_plan(self, member):
        Tenant.objects.filter(pk=member.tenant.pk).update(max_jobs_per_month=7)
        assert member.client.get("/api/v1/me").json()["quotas"]["max_jobs_per_month"] == 7

    def test_a_session_user_gets_the_same(self, session_member):
        user, client = session_member
        body = client.get("/api/v1/me").json()
        assert body["tenant"]["slug"] == "acme"
        assert body["role"] == "member"
        assert body["principal"] == {"type": "user", "username": user.username}

    def test_a_user_in_several_tenants_names_one(self, session_member):
        user, client = session_member
        other = TenantFactory(slug="initech")
        MembershipFactory(tenant=other, user=user, role=Role.VIEWER)
        response = client.get("/api/v1/me")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "tenant_required"
        assert client.get("/api/v1/me", HTTP_X_TENANT="initech").json()["role"] == "viewer"
        assert client.get("/api/v1/me", HTTP_X_TENANT="nope").status_code == 403

    def test_a_user_without_membership_is_refused(self, db):
        lonely = APIClient()
        lonely.force_login(UserFactory())
        response = lonely.get("/api/v1/me")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "no_tenant"

    def test_a_suspended_tenant_is_refused(self, member):
        Tenant.objects.filter(pk=member.tenant.pk).update(status=Tenant.Status.SUSPENDED)
        response = member.client.get("/api/v1/me")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "tenant_suspended"

    def test_usage_increments_accumulate_in_one_monthly_row(self, tenant):
        for _ in range(5):
            usage_increment(tenant=tenant, metric=UsageCounter.Metric.EVIDENCE_BYTES, amount=10)
        assert UsageCounter.objects.get(tenant=tenant).value == 50


# Committing tests: on PostgreSQL a connection starts listening for changes outside a transaction.
@pytest.mark.django_db(transaction=True)
class TestUsageCache:
    def test_a_repeated_call_makes_no_query(self, member, django_assert_num_queries):
        member.client.get("/api/v1/me")
        with django_assert_num_queries(0):  # the key and the usage come from the process cache
            assert member.client.get("/api/v1/me").status_code == 200

    def test_new_usage_shows_on_the_next_call(self, member):
        assert member.client.get("/api/v1/me").json()["usage"]["jobs_started"]["used"] == 0
        usage_increment(tenant=member.tenant, metric=UsageCounter.Metric.JOBS_STARTED)
        usage_consume(tenant=member.tenant, metric=UsageCounter.Metric.JOBS_STARTED)
        assert member.client.get("/api/v1/me").json()["usage"]["jobs_started"]["used"] == 2

    def test_a_project_that_grows_or_goes_shows_on_the_next_call(self, member):
        project = ProjectFactory(tenant=member.tenant, position_count=10)
        assert (
            member.client.get("/api/v1/me").json()["usage"]["positions_per_project"]["used"] == 10
        )
        project.position_count = 20
        project.save(update_fields=["position_count"])
        assert (
            member.client.get("/api/v1/me").json()["usage"]["positions_per_project"]["used"] == 20
        )
        project.delete()
        assert member.client.get("/api/v1/me").json()["usage"]["positions_per_project"]["used"] == 0

    def test_a_write_that_bypasses_the_services_is_seen_when_the_entry_expires(
        self, member, settings
    ):
        settings.API_CACHE_SECONDS = 1
        assert member.client.get("/api/v1/me").json()["usage"]["jobs_started"]["used"] == 0
        UsageCounter.objects.create(
            tenant=member.tenant,
            month=current_month(),
            metric=UsageCounter.Metric.JOBS_STARTED,
            value=4,
        )
        assert member.client.get("/api/v1/me").json()["usage"]["jobs_started"]["used"] == 0
        time.sleep(1.05)
        assert member.client.get("/api/v1/me").json()["usage"]["jobs_started"]["used"] == 4


@pytest.mark.django_db(transaction=True)
class TestQuotas:
    def test_consumption_stops_at_the_quota_and_counts_nothing_over_it(self, tenant):
        Tenant.objects.filter(pk=tenant.pk).update(max_jobs_per_month=3)
        tenant.refresh_from_db()
        for _ in range(3):
            usage_consume(tenant=tenant, metric=UsageCounter.Metric.JOBS_STARTED)
        with pytest.raises(ApiError) as excinfo:
            usage_consume(tenant=tenant, metric=UsageCounter.Metric.JOBS_STARTED)
        assert excinfo.value.error_code == "quota_exceeded"
        assert excinfo.value.status_code == 429
        resets_on = (current_month() + timedelta(days=32)).replace(day=1).isoformat()
        assert excinfo.value.details == {
            "metric": "jobs_started",
            "used": 3,
            "limit": 3,
            "requested": 1,
            "resets_on": resets_on,
        }
        assert str(excinfo.value.detail) == (
            "This would exceed your plan's monthly jobs started quota: 3 of 3 used, 1 more asked; "
            f"it resets on {resets_on}."
        )
        assert UsageCounter.objects.get(tenant=tenant).value == 3

    def test_a_quota_error_reaches_the_client_in_the_envelope(self, member, probe_urlconf):
        Tenant.objects.filter(pk=member.tenant.pk).update(max_evidence_bytes=4)
        response = member.client.post("/api/v1/probe/quota/", {"bytes": 5}, format="json")
        assert response.status_code == 429
        error = response.json()["error"]
        assert error["code"] == "quota_exceeded"
        assert error["details"]["metric"] == "evidence_bytes"
        assert "RateLimit-Limit" in response  # a rate limit is a different thing, still reported
        assert not UsageCounter.objects.filter(tenant=member.tenant).exists()

    def test_a_budget_over_the_positions_limit_is_refused(self, tenant):
        Tenant.objects.filter(pk=tenant.pk).update(max_positions_per_project=100)
        tenant.refresh_from_db()
        positions_quota_check(tenant=tenant, count=100)
        with pytest.raises(ApiError) as excinfo:
            positions_quota_check(tenant=tenant, count=101)
        assert excinfo.value.error_code == "quota_exceeded"
        assert excinfo.value.details == {
            "metric": "positions_per_project",
            "requested": 101,
            "limit": 100,
        }
