"""Whole flows over real HTTP and real websockets: a job started through the API, followed live
by a `websockets` client, across a reconnect, against a real ASGI server process."""

import asyncio
import json

import pytest
import requests
import websockets

from jobs.models import Job, JobEvent
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
TERMINAL = {"job.succeeded", "job.failed", "job.cancelled"}


def start_selftest(server, actor, **options) -> str:
    response = requests.post(
        f"{server.http}/api/v1/jobs/",
        json={"kind": "selftest", "input": options},
        headers={"Authorization": f"Api-Key {actor.secret}"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def follow(server, actor, job_id: str, *, since: int, stop_after_seq: int | None = None):
    """Subscribe to the job (replaying after `since`) and collect its events until it ends, or
    until event `stop_after_seq`, then hang up."""
    headers = {"Authorization": f"Api-Key {actor.secret}"}
    received = []
    async with websockets.connect(server.ws, additional_headers=headers) as socket:
        await socket.send(
            json.dumps({"action": "subscribe", "topic": f"job:{job_id}", "since": since})
        )
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
            if message["type"] in ("subscribed", "error"):
                assert message["type"] == "subscribed", message
                continue
            received.append(message)
            if message["type"] in TERMINAL or message["seq"] == stop_after_seq:
                return received


def stored(job_id: str) -> list[tuple[int, str]]:
    return list(JobEvent.objects.filter(job_id=job_id).order_by("seq").values_list("seq", "type"))


def wait_finished(job_id: str) -> Job:
    return wait_until(
        lambda: Job.objects.filter(pk=job_id, status__in=Job.FINISHED).first(),
        timeout=30,
        what="the job to finish",
    )


def test_progress_reaches_a_websocket_client_live(asgi_server, member):
    job_id = start_selftest(asgi_server, member, steps=4, delay=0.05)
    received = asyncio.run(follow(asgi_server, member, job_id, since=0))
    wait_finished(job_id)
    assert [(m["seq"], m["type"]) for m in received] == stored(job_id)
    assert [m["type"] for m in received] == ["job.progress"] * 4 + ["job.log", "job.succeeded"]
    assert received[-1]["data"] == {"job": job_id, "status": "succeeded", "result": {"steps": 4}}


def test_a_client_that_reconnects_with_since_misses_nothing_and_gets_nothing_twice(
    asgi_server, member
):
    job_id = start_selftest(asgi_server, member, steps=12, delay=0.1)
    before = asyncio.run(follow(asgi_server, member, job_id, since=0, stop_after_seq=3))
    assert [m["seq"] for m in before] == [1, 2, 3]
    # Off the network while the job goes on.
    wait_until(lambda: Job.objects.get(pk=job_id).last_seq >= 6, timeout=30, what="more events")

    after = asyncio.run(follow(asgi_server, member, job_id, since=3))
    wait_finished(job_id)
    assert [(m["seq"], m["type"]) for m in before + after] == stored(job_id)
    assert after[-1]["type"] == "job.succeeded"


def test_another_tenant_cannot_follow_the_job(asgi_server, member, outsider):
    job_id = start_selftest(asgi_server, member, steps=1, delay=0)

    async def probe():
        headers = {"Authorization": f"Api-Key {outsider.secret}"}
        async with websockets.connect(asgi_server.ws, additional_headers=headers) as socket:
            topic = f"job:{job_id}"
            await socket.send(json.dumps({"action": "subscribe", "topic": topic, "since": 0}))
            refused = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
            await socket.send("not json")
            still_open = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
            return refused, still_open

    refused, still_open = asyncio.run(probe())
    assert refused == {
        "type": "error",
        "topic": f"job:{job_id}",
        "seq": None,
        "data": {"code": "not_found", "message": "No such topic."},
    }
    assert still_open["data"]["code"] == "invalid_json"
    response = requests.get(
        f"{asgi_server.http}/api/v1/jobs/{job_id}/",
        headers={"Authorization": f"Api-Key {outsider.secret}"},
        timeout=10,
    )
    assert response.status_code == 404
    wait_finished(job_id)
