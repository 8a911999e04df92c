"""A websocket handshake while the channel layer's Redis is down is refused cleanly — accepted,
told why and closed with 1013 ("try again later"), never an HTTP 500 — and the same client
succeeds once Redis is back: subscribed, and its events delivered. A real uvicorn on a private
redis-server that the test stops and starts again on the same port."""

import asyncio
import json

import pytest
import requests
import websockets

from jobs.consumers import LAYER_UNAVAILABLE_CLOSE_CODE
from tests import servers
from tests.factories import ProjectFactory
from tests.processes import AsgiServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outage_redis():
    with servers.redis_server() as redis:
        yield redis


@pytest.fixture
def asgi_on_outage_redis(django_db_setup, tmp_path, outage_redis):
    server = AsgiServer(log_dir=tmp_path)
    server.env.update(REDIS_URL=outage_redis.url())
    server.start()
    yield server
    server.stop()


async def subscribe_and_comment(server: AsgiServer, headers: dict, project_id: str) -> dict:
    """Open a socket, subscribe to the project, post a comment over HTTP; the comment's event."""
    topic = f"project:{project_id}"
    async with websockets.connect(server.ws, additional_headers=headers) as socket:
        await socket.send(json.dumps({"action": "subscribe", "topic": topic}))
        subscribed = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        assert subscribed["type"] == "subscribed", subscribed
        response = await asyncio.to_thread(
            requests.post,
            f"{server.http}/api/v1/projects/{project_id}/comments/",
            json={"body": "are you there?"},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return json.loads(await asyncio.wait_for(socket.recv(), timeout=10))


async def handshake_during_outage(server: AsgiServer, headers: dict) -> tuple[dict, int | None]:
    """The first message and the close code of a handshake made while Redis is down. An HTTP
    refusal (a 500) raises websockets.InvalidStatus here and fails the test."""
    async with websockets.connect(server.ws, additional_headers=headers) as socket:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=15))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(socket.recv(), timeout=15)
        assert socket.close_code is not None
        return message, socket.close_code


def test_a_handshake_during_a_redis_outage_is_refused_then_succeeds(
    asgi_on_outage_redis, outage_redis, member, tenant
):
    server = asgi_on_outage_redis
    headers = {"Authorization": f"Api-Key {member.secret}"}
    project_id = str(ProjectFactory(tenant=tenant).id)
    assert asyncio.run(subscribe_and_comment(server, headers, project_id))["type"] == (
        "comment.created"
    )

    outage_redis.stop()
    message, code = asyncio.run(handshake_during_outage(server, headers))
    assert (message["type"], message["data"]["code"]) == ("error", "service_unavailable")
    assert code == LAYER_UNAVAILABLE_CLOSE_CODE
    assert "Traceback" not in server.log_tail(20_000)

    outage_redis.start()  # the same port: the server's layer reconnects by itself
    event = asyncio.run(subscribe_and_comment(server, headers, project_id))
    assert (event["type"], event["data"]["body"]) == ("comment.created", "are you there?")
