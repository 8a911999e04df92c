"""A websocket on a quiet topic stays open on the production channel layer (channels-redis).

channels-redis waits for a socket's next message with BZPOPMIN, which Redis answers after
RedisChannelLayer.brpop_timeout (5 s) when nothing came; redis-py 8 gives up reading after its
socket_timeout (5 s by default), so without a longer one a quiet socket is closed at t ≈ 5 s.
Here a real uvicorn on a real Redis keeps a socket on a silent project topic for three of those
waits, past the layer's (shortened) Redis client timeout, and then delivers an event to it."""

import asyncio
import json
import time

import pytest
import requests
import websockets
from channels_redis.core import RedisChannelLayer

from tests.factories import ProjectFactory
from tests.processes import AsgiServer

pytestmark = pytest.mark.django_db(transaction=True)

# The layer's Redis client timeout the server runs with: short, so that the silence below outlasts
# it more than twice; it must still be above the layer's BZPOPMIN timeout (settings check that).
CLIENT_TIMEOUT = RedisChannelLayer.brpop_timeout + 1
SILENCE = 3 * RedisChannelLayer.brpop_timeout


@pytest.fixture(scope="module")
def redis_asgi_server(django_db_setup, tmp_path_factory, server_redis_url):
    """uvicorn with channels-redis as its channel layer, whatever the run's mode."""
    server = AsgiServer(log_dir=tmp_path_factory.mktemp("asgi-redis"))
    server.env.update(REDIS_URL=server_redis_url, CHANNEL_LAYER_SOCKET_TIMEOUT=str(CLIENT_TIMEOUT))
    server.start()
    yield server
    server.stop()


def test_a_socket_on_a_silent_topic_stays_open_and_then_gets_its_event(
    redis_asgi_server, member, tenant
):
    server = redis_asgi_server
    project = ProjectFactory(tenant=tenant)
    topic = f"project:{project.id}"

    async def scenario() -> tuple[float, dict]:
        headers = {"Authorization": f"Api-Key {member.secret}"}
        async with websockets.connect(server.ws, additional_headers=headers) as socket:
            await socket.send(json.dumps({"action": "subscribe", "topic": topic}))
            subscribed = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
            assert subscribed["type"] == "subscribed", subscribed
            opened = time.monotonic()
            # Nothing at all for the whole silence: a closed socket ends this recv early.
            with pytest.raises(TimeoutError):
                message = await asyncio.wait_for(socket.recv(), timeout=SILENCE)
                pytest.fail(f"unexpected message during the silence: {message}")
            silent_for = time.monotonic() - opened

            response = await asyncio.to_thread(
                requests.post,
                f"{server.http}/api/v1/projects/{project.id}/comments/",
                json={"body": "still there?"},
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 201, response.text
            return silent_for, json.loads(await asyncio.wait_for(socket.recv(), timeout=10))

    try:
        silent_for, event = asyncio.run(scenario())
    except websockets.ConnectionClosed as exc:
        raise AssertionError(f"the socket was closed: {exc}\n{server.log_tail()}") from exc
    assert silent_for >= SILENCE > 2 * CLIENT_TIMEOUT
    assert event["type"] == "comment.created"
    assert event["topic"] == topic
    assert event["data"]["body"] == "still there?"
