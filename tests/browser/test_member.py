"""A member who is not staff signs in in a real browser, calls the API from the page with the
session, and receives a job's events over the session websocket."""

import pytest

from tenants.models import Role
from tests.browser.conftest import sign_in
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_uses_the_api_and_the_websocket_from_the_browser(page, live_server_url, tenant):
    user = MembershipFactory(tenant=tenant, role=Role.MEMBER).user
    assert not user.is_staff
    sign_in(page, live_server_url, user.username, admin=False)
    assert page.url == f"{live_server_url}/"
    page.click("#me-button")
    page.wait_for_selector("#me-output:not([hidden])")
    me = page.inner_text("#me-output")
    assert '"slug": "acme"' in me and '"role": "member"' in me

    events = page.evaluate(
        """async () => {
        const cookie = document.cookie.split("; ").find(c => c.startsWith("csrftoken="));
        const csrf = cookie.split("=")[1];
        const socket = new WebSocket(`ws://${location.host}/ws/v1/events/`);
        await new Promise((resolve, reject) => {
            socket.onopen = resolve;
            socket.onerror = reject;
        });
        const received = [];
        const finished = new Promise((resolve) => {
            socket.onmessage = (message) => {
                const event = JSON.parse(message.data);
                received.push(event);
                const ends = ["job.succeeded", "job.failed", "job.cancelled"];
                if (ends.includes(event.type)) resolve();
            };
        });
        const answer = await fetch("/api/v1/jobs/", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
            body: JSON.stringify({ kind: "selftest", input: { steps: 3, delay: 0.05 } }),
        });
        const job = await answer.json();
        socket.send(JSON.stringify({ action: "subscribe", topic: `job:${job.id}`, since: 0 }));
        await Promise.race([finished, new Promise((r) => setTimeout(r, 30000))]);
        socket.close();
        return { status: answer.status, job: job.id, events: received };
    }"""
    )
    assert events["status"] == 202
    types = [
        event["type"] for event in events["events"] if event["topic"] == f"job:{events['job']}"
    ]
    assert types[0] == "subscribed"
    assert types.count("job.progress") == 3 and types[-1] == "job.succeeded"
    seqs = [e["seq"] for e in events["events"] if e["type"].startswith("job.")]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
