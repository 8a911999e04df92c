"""Staff who administer one tenant never see another tenant's names, users or rows anywhere in the
admin: every changelist, filter, count, search, related lookup, autocomplete and object page,
present and future (tests/admin_isolation.py enumerates them from the admin site)."""

import pytest
from django.contrib.auth.models import Permission

from tenants.models import Role
from tests.admin_isolation import make_victim, probe_admin_isolation
from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant_staff(client, tenant):
    """Staff administering `tenant`, with every permission a non-superuser can hold."""
    user = MembershipFactory(tenant=tenant, role=Role.ADMIN).user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    # Their own tenant has data too, so that every page has something to show.
    ProjectFactory(tenant=tenant, name="Acme Tower")
    return user


def test_no_admin_page_shows_another_tenants_data(client, tenant_staff, other_tenant):
    victim = make_victim(other_tenant)
    failures = probe_admin_isolation(client=client, staff=tenant_staff, victim=victim)
    assert failures == [], "\n".join(failures)


def test_the_probe_sees_what_a_superuser_sees(client, other_tenant, django_user_model):
    """The probe finds the victim's data when it is shown (to a superuser): it would catch a
    leak, and its markers are really on the pages it opens."""
    victim = make_victim(other_tenant)
    root = django_user_model.objects.create_superuser("root", "root@example.com")
    client.force_login(root)
    failures = probe_admin_isolation(client=client, staff=root, victim=victim)
    assert any("/admin/projects/project/" in f and "shows" in f for f in failures)
    assert any("/admin/projects/position/?" in f and "section" not in f for f in failures)
    assert not any(": 5" in f for f in failures), [f for f in failures if ": 5" in f]
