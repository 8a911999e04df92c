"""Sending to channel-layer groups from sync code (services, job handlers, worker threads)."""

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from core.per_process import per_process

logger = logging.getLogger(__name__)

# Sends in flight at once when many messages are sent together.
PUBLISH_CHUNK = 200


def group_send_all(messages: list[tuple[str, str, dict]]) -> None:
    """Send each (what, group, message) to its channel-layer group, logging failures."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_one(event_type: str, group: str, message: dict) -> None:
        try:
            await layer.group_send(group, message)
        except Exception:  # live delivery is best effort, see publish()
            logger.warning("could not publish %s to %s", event_type, group, exc_info=True)

    async def send() -> None:
        for start in range(0, len(messages), PUBLISH_CHUNK):
            await asyncio.gather(*(send_one(*m) for m in messages[start : start + PUBLISH_CHUNK]))

    loop = _loop_for(layer)
    if loop is None:
        async_to_sync(send)()
    else:
        try:
            timeout = 5 * (1 + len(messages) // PUBLISH_CHUNK)
            asyncio.run_coroutine_threadsafe(send(), loop).result(timeout=timeout)
        except TimeoutError:
            logger.warning("publishing %s timed out", messages[0][0])


_server_loop: asyncio.AbstractEventLoop | None = None


def bind_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Send from now on through the ASGI server's event loop (None: stop). The embedded default's
    in-memory channel layer keeps asyncio queues that belong to that loop, and its worker threads,
    which publish from outside it, must not touch them from another one."""
    global _server_loop
    _server_loop = loop


def _loop_for(layer: Any) -> asyncio.AbstractEventLoop | None:
    """Where sync code sends: the bound server loop; else, for a layer that works from any loop
    (channels-redis), this process's publisher loop, which keeps its connections open (a fresh
    loop per send, as `async_to_sync` makes, would connect to Redis every time); else (the
    in-memory layer, in tests) None: `async_to_sync`, which reaches the loop of the caller."""
    server_loop = _server_loop
    if server_loop is not None and server_loop.is_running() and not _running_on(server_loop):
        return server_loop
    if isinstance(layer, InMemoryChannelLayer):
        return None
    return _publisher_loop()


@per_process
def _publisher_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="event-publisher", daemon=True).start()
    return loop


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
