"""The one way anything publishes a live event to websocket clients.

Topics are `job:<id>`, `project:<id>` and `tenant:<id>`; each maps to a channel-layer group. A
message on the wire is `{"type", "topic", "seq", "data"}` (docs/websockets.md). Consumers
re-check the tenant of every event they forward, so the tenant id travels with it.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from core.channels import group_send_all

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
    publish_many([event])


def publish_many(events: list[Event]) -> None:
    """`publish` for several events at once (one trip to the event loop, sends in parallel): a
    catalog update may announce thousands of alerts."""
    group_send_all(
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
