"""The one way anything publishes a live event to websocket clients.

Topics are `job:<id>`, `project:<id>` and `tenant:<id>`; each maps to a channel-layer group. A
message on the wire is `{"type", "topic", "seq", "data"}` (DESIGN.md, Websockets). Consumers
re-check the tenant of every event they forward, so the tenant id travels with it.
"""

import asyncio
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

EVENT_TYPES = {
    "job.progress",
    "job.log",
    "job.succeeded",
    "job.failed",
    "job.cancelled",
    "version.created",
    "evidence.uploaded",
    "comment.created",
    "alert.created",
}
# The channel-layer message type the websocket consumer handles (method `kalkula_event`).
CONSUMER_MESSAGE_TYPE = "kalkula.event"
# Tells the sockets of a revoked grant to close (EventsConsumer.kalkula_access_ended).
ACCESS_ENDED_MESSAGE_TYPE = "kalkula.access_ended"
# Sends in flight at once when many events are published together.
PUBLISH_CHUNK = 200


def topic_for(kind: str, object_id: uuid.UUID | str) -> str:
    return f"{kind}:{object_id}"


def group_for(topic: str) -> str:
    """Channel-layer group names allow only ASCII letters, digits, hyphens, periods, underscores."""
    return topic.replace(":", ".")


@dataclass(frozen=True)
class Event:
    type: str
    tenant_id: uuid.UUID
    data: dict[str, Any]
    topics: list[str] = field(default_factory=list)
    seq: int | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")


def publish(event: Event) -> None:
    """Send `event` to the group of each of its topics. A channel-layer outage loses only the live
    copy (job events are also stored and replayed), so it is logged, never raised."""
    publish_many([event])


def publish_many(events: list[Event]) -> None:
    """`publish` for several events at once (one trip to the event loop, sends in parallel): a
    catalog update may announce thousands of alerts."""
    _send_all(
        [
            (
                event.type,
                group_for(topic),
                {
                    "type": CONSUMER_MESSAGE_TYPE,
                    "tenant_id": str(event.tenant_id),
                    "event": {
                        "type": event.type,
                        "topic": topic,
                        "seq": event.seq,
                        "data": event.data,
                    },
                },
            )
            for event in events
            for topic in event.topics
        ]
    )


# A socket joins the groups of the grants it was opened with: its tenant, and its API key or its
# user's membership. Ending any of them (`access_end`) closes the socket.
def tenant_access_group(*, tenant_id: Any) -> str:
    return f"access.tenant.{tenant_id}"


def key_access_group(*, api_key_id: Any) -> str:
    return f"access.key.{api_key_id}"


def member_access_group(*, tenant_id: Any, user_id: Any) -> str:
    return f"access.member.{tenant_id}.{user_id}"


def access_end(*, group: str) -> None:
    """Close the open sockets of a grant that ended (a revoked key, an ended membership, a
    suspended tenant): they answer with an error and close, instead of streaming events until
    they reconnect."""
    _send_all([("access ended", group, {"type": ACCESS_ENDED_MESSAGE_TYPE})])


def _send_all(messages: list[tuple[str, str, dict]]) -> None:
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
_publisher_lock = threading.Lock()
_publisher: tuple[int, asyncio.AbstractEventLoop] | None = None


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


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """One per process (a forked worker process starts its own: threads do not survive a fork)."""
    global _publisher
    with _publisher_lock:
        if _publisher is None or _publisher[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="event-publisher", daemon=True).start()
            _publisher = (os.getpid(), loop)
        return _publisher[1]


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
