"""The audit policy in the admin: thresholds that would make every audit meaningless are refused
with a message per field, and each field says what it does."""

import pytest

from audits.models import AuditPolicy
from audits.rules.types import Policy

pytestmark = pytest.mark.django_db
VALID = {
    "arithmetic_abs_tolerance": "0.01",
    "arithmetic_rel_tolerance": "0.005",
    "cost_amber_above": "0.10",
    "cost_red_above": "0.25",
    "cost_amber_below": "-0.10",
    # The other rules' settings as the form shows them: the defaults.
    **{
        name: str(value)
        for name, value in Policy().settings().items()
        if name
        not in (
            "rules",
            "arithmetic_abs_tolerance",
            "arithmetic_rel_tolerance",
            "cost_amber_above",
            "cost_red_above",
            "cost_amber_below",
        )
    },
    "rules": "{}",
}


def post(client, tenant, **changes):
    return client.post(
        "/admin/audits/auditpolicy/add/", {"tenant": tenant.pk, **VALID, **changes}, follow=True
    )


def test_a_sound_policy_is_saved(root_client, tenant):
    response = post(root_client, tenant)
    assert response.status_code == 200
    assert AuditPolicy.objects.get(tenant=tenant).cost_red_above == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"arithmetic_abs_tolerance": "-0.01"}, "arithmetic_abs_tolerance", "cannot be negative"),
        ({"arithmetic_rel_tolerance": "-0.5"}, "arithmetic_rel_tolerance", "cannot be negative"),
        ({"cost_amber_above": "0.30"}, "cost_red_above", "Red must start above amber"),
        ({"cost_amber_above": "-0.05"}, "cost_amber_above", "0 or more"),
        ({"cost_amber_below": "0.05"}, "cost_amber_below", "between -1"),
    ],
)
def test_an_unusable_policy_is_refused_with_why(root_client, tenant, changes, field, message):
    response = post(root_client, tenant, **changes)
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert response.context["adminform"].form.errors[field]
    assert not AuditPolicy.objects.filter(tenant=tenant).exists()


def test_each_field_says_what_it_does(root_client):
    page = root_client.get("/admin/audits/auditpolicy/add/").content.decode()
    assert "turns amber" in page and "turns red" in page and "rounding cent" in page


def test_the_other_rules_are_set_and_switched_here_too(root_client, tenant):
    response = post(
        root_client, tenant, takeoff_red_above="0.05", rules='{"takeoff.missing": true}'
    )
    assert response.status_code == 200
    policy = AuditPolicy.objects.get(tenant=tenant)
    assert policy.rules == {"takeoff.missing": True}
    assert str(policy.takeoff_red_above) == "0.0500"
    refused = post(root_client, tenant, outlier_amber_score="9", rules='{"no.such": true}')
    errors = refused.context["adminform"].form.errors
    assert "Red must start above amber" in errors["outlier_red_score"][0]
    assert "No such rule: no.such" in errors["rules"][0]
