"""Browser users sign in and out with Django's views, choose the tenant their session acts for
(remembered; `X-Tenant` and `?tenant=` still win), and use the API with their session."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from tenants.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.jobs.test_consumer import HOST, ORIGIN, application

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_tenant_user(tenant, other_tenant):
    user = UserFactory()
    MembershipFactory(tenant=tenant, user=user, role=Role.MEMBER)
    MembershipFactory(tenant=other_tenant, user=user, role=Role.VIEWER)
    return user


def signed_in(user) -> Client:
    browser = Client()
    response = browser.post(
        "/accounts/login/", {"username": user.username, "password": "pw-for-tests-only"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    return browser


def test_sign_in_home_and_sign_out(two_tenant_user):
    assert Client().get("/").status_code == 302  # to the sign-in page
    login = Client().get("/accounts/login/").content.decode()
    assert 'name="password"' in login and "Forgotten your password?" in login
    browser = signed_in(two_tenant_user)
    home = browser.get("/").content.decode()
    assert "acme" in home and "globex" in home and 'id="tenant-form"' in home
    browser.post("/accounts/logout/")
    assert browser.get("/").status_code == 302


def test_a_wrong_password_is_refused(two_tenant_user):
    response = Client().post(
        "/accounts/login/", {"username": two_tenant_user.username, "password": "nope"}
    )
    assert response.status_code == 200 and "did not match" in response.content.decode()


def test_the_chosen_tenant_is_remembered_and_headers_still_win(two_tenant_user):
    browser = signed_in(two_tenant_user)
    assert browser.get("/api/v1/me").json()["error"]["code"] == "tenant_required"
    assert browser.get("/api/v1/me?tenant=globex").json()["role"] == "viewer"
    assert browser.get("/api/v1/me", headers={"X-Tenant": "acme"}).json()["role"] == "member"
    browser.post("/accounts/tenant/", {"tenant": "globex"})
    assert browser.get("/api/v1/me").json()["tenant"]["slug"] == "globex"
    assert browser.get("/api/v1/me", headers={"X-Tenant": "acme"}).json()["role"] == "member"
    assert "acting for this tenant" in browser.get("/").content.decode()


def test_a_tenant_of_someone_else_cannot_be_chosen(tenant):
    user = MembershipFactory(tenant=tenant).user
    browser = signed_in(user)
    response = browser.post("/accounts/tenant/", {"tenant": "globex"}, follow=True)
    assert "not a member" in response.content.decode()
    assert browser.get("/api/v1/me").json()["tenant"]["slug"] == "acme"


def test_writes_with_the_session_need_the_csrf_token(tenant):
    user = MembershipFactory(tenant=tenant, role=Role.MEMBER).user
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    refused = browser.post("/api/v1/projects/", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    browser.get("/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    created = browser.post(
        "/api/v1/projects/",
        {"name": "From the browser"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert created.status_code == 201, created.content


@pytest.mark.django_db(transaction=True)
def test_the_session_socket_acts_for_the_chosen_tenant(two_tenant_user, other_tenant):
    browser = signed_in(two_tenant_user)
    browser.post("/accounts/tenant/", {"tenant": "globex"})
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    headers = [(b"cookie", cookie.encode()), HOST, ORIGIN]

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/v1/events/", headers=headers)
        assert (await socket.connect())[0]
        await socket.send_json_to({"action": "subscribe", "topic": f"tenant:{other_tenant.id}"})
        answer = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return answer

    assert async_to_sync(scenario)()["type"] == "subscribed"


def test_a_superuser_acts_as_owner_only_of_the_tenant_it_names(tenant, other_tenant):
    root = UserFactory(is_staff=True, is_superuser=True)
    MembershipFactory(tenant=tenant, user=root, role=Role.VIEWER)
    browser = Client()
    browser.force_login(root)
    # Named, any tenant is acted for as its owner (the operator's reach, as in the admin) ...
    named = browser.get("/api/v1/me", headers={"X-Tenant": "globex"}).json()
    assert (named["tenant"]["slug"], named["role"]) == ("globex", "owner")
    assert browser.get("/api/v1/me?tenant=acme").json()["role"] == "owner"
    # ... unnamed, a superuser is only what its memberships make it.
    assert browser.get("/api/v1/me").json()["role"] == "viewer"
    unknown = browser.get("/api/v1/me", headers={"X-Tenant": "no-such-tenant"})
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "no_tenant"
    # Staff who are not superusers reach only their memberships' tenants.
    staff = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant, user=staff, role=Role.ADMIN)
    browser.force_login(staff)
    refused = browser.get("/api/v1/me", headers={"X-Tenant": "globex"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "no_tenant"
