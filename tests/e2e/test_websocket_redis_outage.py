"""A Redis outage on the production channel layer (channels-redis), with a real uvicorn and a
private redis-server that the test stops and starts again (the machine's shared Redis is never
touched): open sockets are closed, and new handshakes refused, with close code 1013 (try again
later) and an error message, never an HTTP 500 or a traceback; once Redis is back the same client
connects and gets its events."""

import asyncio
import json
import time

import pytest
import requests
import websockets

from jobs.consumers import LAYER_UNAVAILABLE_CLOSE_CODE
from tests import servers
from tests.factories import ProjectFactory
from tests.processes import AsgiServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_redis():
    with servers.redis_server() as redis_server:
        yield redis_server


@pytest.fixture
def outage_server(tmp_path, private_redis):
    """uvicorn whose cache and channel layer are the private Redis."""
    server = AsgiServer(log_dir=tmp_path)
    server.env.update(REDIS_URL=private_redis.url(), RATE_LIMIT_REDIS_RETRY_SECONDS="0")
    server.start()
    yield server
    server.stop()


async def closed_by_the_server(socket) -> tuple[dict, int | None]:
    """The one message before the server closed the socket, and the close code."""
    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=15))
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(socket.recv(), timeout=10)
    return message, socket.close_code


async def subscribed(socket, topic: str) -> None:
    await socket.send(json.dumps({"action": "subscribe", "topic": topic}))
    answer = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
    assert answer["type"] == "subscribed", answer


def test_sockets_are_closed_and_refused_with_1013_during_an_outage_and_work_after_it(
    outage_server, private_redis, member, tenant
):
    server = outage_server
    project = ProjectFactory(tenant=tenant)
    topic = f"project:{project.id}"
    headers = {"Authorization": f"Api-Key {member.secret}"}

    async def before_and_during() -> list[tuple[dict, int | None]]:
        socket = await websockets.connect(server.ws, additional_headers=headers)
        await subscribed(socket, topic)
        private_redis.stop()
        # The open socket hears of the outage at once: an error, then close code 1013.
        closed = await closed_by_the_server(socket)
        # A handshake during the outage is refused the same way (an HTTP 500 answer to it raises
        # InvalidStatus).
        started = time.monotonic()
        socket = await websockets.connect(server.ws, additional_headers=headers)
        refused = await closed_by_the_server(socket)
        assert time.monotonic() - started < 10
        return [closed, refused]

    async def after() -> dict:
        async with websockets.connect(server.ws, additional_headers=headers) as socket:
            await subscribed(socket, topic)
            response = await asyncio.to_thread(
                requests.post,
                f"{server.http}/api/v1/projects/{project.id}/comments/",
                json={"body": "back"},
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 201, response.text
            return json.loads(await asyncio.wait_for(socket.recv(), timeout=10))

    try:
        closings = asyncio.run(before_and_during())
    except websockets.InvalidStatus as exc:
        raise AssertionError(f"the handshake got HTTP {exc.response.status_code}") from exc
    for error, code in closings:
        assert error["type"] == "error"
        assert error["data"]["code"] == "service_unavailable"
        assert code == LAYER_UNAVAILABLE_CLOSE_CODE == 1013

    private_redis.start()  # back on the same port: the server finds it by itself
    event = asyncio.run(after())
    assert (event["type"], event["topic"], event["data"]["body"]) == (
        "comment.created",
        topic,
        "back",
    )

    log = server.log_tail(200_000)
    assert "Exception in ASGI application" not in log, log
    assert "Traceback" not in log, log
