"""Inviting members by e-mail (API, admin, command: one service) and what the invited do next:
choose a password through the link (Django's tokens), sign in, use the API with their session."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client

from tenants.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
NEW_PASSWORD = "a-long-and-fresh-passphrase-42"


def invite(actor, email="new@example.com", role="member"):
    return actor.client.post("/api/v1/invitations/", {"email": email, "role": role}, format="json")


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def test_an_invited_user_chooses_a_password_and_uses_the_api(admin, tenant):
    response = invite(admin)
    assert response.status_code == 201, response.content
    assert response.json() == {"email": "new@example.com", "role": "member", "tenant": "acme"}
    user = get_user_model().objects.get(username="new@example.com")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user, tenant=tenant).role == "member"
    (message,) = mail.outbox
    assert message.to == ["new@example.com"] and tenant.name in message.subject
    browser = Client()
    form = browser.get(link_in(message).replace("http://testserver", ""), follow=True)
    assert "new_password1" in form.content.decode()
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert done.status_code == 200
    assert browser.login(username="new@example.com", password=NEW_PASSWORD)
    me = browser.get("/api/v1/me").json()
    assert (me["tenant"]["slug"], me["role"], me["principal"]["type"]) == ("acme", "member", "user")


def test_the_link_works_once(admin):
    invite(admin)
    link = link_in(mail.outbox[0]).replace("http://testserver", "")
    browser = Client()
    form = browser.get(link, follow=True)
    browser.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    again = Client().get(link, follow=True)
    assert "new_password1" not in again.content.decode()


def test_an_existing_user_gets_a_sign_in_link_and_no_token(admin, other_tenant):
    user = MembershipFactory(tenant=other_tenant).user
    response = invite(admin, email=user.email.upper())
    assert response.status_code == 201
    assert Membership.objects.filter(user=user).count() == 2
    assert link_in(mail.outbox[0]).endswith("/accounts/login/")


@pytest.mark.parametrize(
    ("who", "role", "status"),
    [("member", "member", 403), ("admin", "owner", 403), ("viewer", "viewer", 403)],
)
def test_nobody_invites_above_their_role(request, who, role, status):
    actor = request.getfixturevalue(who)
    assert invite(actor, role=role).status_code == status
    assert not mail.outbox


def test_an_admin_cannot_demote_an_owner_by_inviting_them(admin, owner, tenant):
    other_owner = MembershipFactory(tenant=tenant, role=Role.OWNER).user
    assert invite(admin, email=other_owner.email, role="viewer").status_code == 403
    assert Membership.objects.get(user=other_owner, tenant=tenant).role == "owner"


def test_a_bad_address_is_a_400(admin):
    assert invite(admin, email="not an address").status_code == 400


def test_the_admin_and_the_command_invite_the_same_way(root_client, tenant):
    page = root_client.get("/admin/tenants/membership/invite/")
    assert page.status_code == 200
    response = root_client.post(
        "/admin/tenants/membership/invite/",
        {"tenant": tenant.pk, "email": "staffinvite@example.com", "role": "viewer"},
        follow=True,
    )
    assert "Invitation sent" in response.content.decode()
    assert Membership.objects.get(user__username="staffinvite@example.com").role == "viewer"
    root_client.post(
        "/admin/tenants/membership/",
        {
            "action": "invite_again",
            "_selected_action": [
                Membership.objects.get(user__username="staffinvite@example.com").pk
            ],
        },
    )
    assert len(mail.outbox) == 2
    from io import StringIO

    out = StringIO()
    call_command("invite_member", tenant.slug, "cli@example.com", "--role", "member", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == link_in(mail.outbox[-1])


def test_tenant_staff_invite_into_their_tenants_only(tenant_staff_client, other_tenant):
    response = tenant_staff_client.post(
        "/admin/tenants/membership/invite/",
        {"tenant": other_tenant.pk, "email": "x@example.com", "role": "member"},
    )
    assert "Select a valid choice" in response.content.decode()
    assert not mail.outbox


def test_a_forgotten_password_is_reset(tenant):
    user = UserFactory(email="forgot@example.com")
    MembershipFactory(tenant=tenant, user=user)
    browser = Client()
    browser.post("/accounts/password_reset/", {"email": "forgot@example.com"})
    (message,) = mail.outbox
    form = browser.get(link_in(message).replace("http://testserver", ""), follow=True)
    browser.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert Client().login(username=user.username, password=NEW_PASSWORD)
