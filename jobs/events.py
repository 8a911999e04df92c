"""The one way anything publishes a live event to websocket clients.

Topics are `job:<id>`, `project:<id>` and `tenant:<id>`; each maps to a channel-layer group. A
message on the wire is `{"type", "topic", "seq", "data"}` (DESIGN.md, Websockets). Consumers
re-check the tenant of every event they forward, so the tenant id travels with it.
"""

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

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
    layer = get_channel_layer()
    if layer is None:
        return
    for topic in event.topics:
        message = {
            "type": CONSUMER_MESSAGE_TYPE,
            "tenant_id": str(event.tenant_id),
            "event": {"type": event.type, "topic": topic, "seq": event.seq, "data": event.data},
        }
        try:
            _group_send(layer, group_for(topic), message)
        except Exception:  # live delivery is best effort, see the docstring
            logger.warning("could not publish %s to %s", event.type, topic, exc_info=True)


_server_loop: asyncio.AbstractEventLoop | None = None


def bind_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Send from now on through the ASGI server's event loop (None: stop). The embedded default's
    in-memory channel layer keeps asyncio queues that belong to that loop, and its worker threads,
    which publish from outside it, must not touch them from another one."""
    global _server_loop
    _server_loop = loop


def _group_send(layer: Any, group: str, message: dict) -> None:
    loop = _server_loop
    if loop is not None and loop.is_running() and not _running_on(loop):
        asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).result(timeout=5)
    else:
        async_to_sync(layer.group_send)(group, message)


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
