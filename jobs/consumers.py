"""`/ws/v1/events/`: live events of jobs, projects and the tenant (docs/websockets.md).

Client → server: `{"action": "subscribe", "topic": "job:<id>" | "project:<id>" | "tenant:<id>",
"since": <seq>}` and `{"action": "unsubscribe", "topic": ...}`. Server → client, one JSON object
per message: `{"type", "topic", "seq", "data"}`. `seq` is the job's event number on every job
event (`job.*`, on any topic); events that are not a job's (`version.created`, …) carry `seq: null`.
`since` is for job topics: the job's events after it are replayed (from the database and the
outbox of events not stored yet) before live ones, in order, with no gaps or duplicates. Each
subscription is acknowledged with `{"type": "subscribed", "topic", "seq": <last seq sent or null>}`
once any replay is done. Problems are answered with `{"type": "error", "topic", "seq": null,
"data": {"code", "message"}}` and the socket stays open (except when it is not authenticated).
"""

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model

from jobs.events import group_for
from jobs.progress import job_event_data
from jobs.selectors import job_events_replay, parse_topic, topic_visible
from tenants.access import key_access_group, member_access_group, tenant_access_group
from tenants.context import TenantContext
from tenants.models import ApiKey, Membership, Tenant

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2_000
MAX_SUBSCRIPTIONS = 100
UNAUTHENTICATED_CLOSE_CODE = 4401


def context_still_valid(context: TenantContext) -> bool:
    """A key revoked, a membership ended or a tenant suspended since the handshake ends the
    socket's rights (checked on every subscribe)."""
    if context.api_key is not None:
        grants = ApiKey.objects.filter(pk=context.api_key.pk, revoked_at__isnull=True)
    elif context.user is not None and context.user.is_superuser:
        # A superuser's access is their account's: still an active superuser, tenant active.
        active = get_user_model().objects.filter(
            pk=context.user.pk, is_active=True, is_superuser=True
        )
        return (
            active.exists()
            and Tenant.objects.filter(pk=context.tenant.pk, status=Tenant.Status.ACTIVE).exists()
        )
    else:
        grants = Membership.objects.filter(tenant=context.tenant, user=context.user)
    return grants.filter(tenant__status=Tenant.Status.ACTIVE).exists()


class EventsConsumer(AsyncWebsocketConsumer):
    """One socket: its subscriptions, and for each job topic the last seq sent (None before the
    first), so live events already replayed are dropped and a gap is filled from storage.

    Channels dispatches one message at a time per consumer: while a subscription replays, live
    events for it wait in the channel layer, and are then checked against the last seq sent."""

    async def connect(self) -> None:
        self.context: TenantContext | None = self.scope.get("tenant_context")
        self.subscriptions: dict[str, int | None] = {}
        self.access_groups: list[str] = []
        if self.context is not None:
            # Revoking the key, ending the membership or suspending the tenant closes the socket
            # at once (tenants.services.api_key_revoke, tenants.signals). Joined before the
            # handshake completes, so an ending that follows it cannot be missed.
            tenant_id = self.context.tenant.pk
            self.access_groups = [
                tenant_access_group(tenant_id=tenant_id),
                key_access_group(api_key_id=self.context.api_key.pk)
                if self.context.api_key is not None
                else member_access_group(tenant_id=tenant_id, user_id=self.context.user.pk),
            ]
            for group in self.access_groups:
                await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        if self.context is None:
            problem = self.scope.get("auth_error") or {
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
            }
            await self.send_error(**problem)
            await self.close(code=UNAUTHENTICATED_CLOSE_CODE)

    async def disconnect(self, code: int) -> None:
        for topic in list(getattr(self, "subscriptions", {})):
            await self.channel_layer.group_discard(group_for(topic), self.channel_name)
        for group in getattr(self, "access_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def kalkula_access_ended(self, message: dict[str, Any]) -> None:
        """The socket's API key was revoked, its membership ended or its tenant suspended."""
        await self.send_error(code="not_authenticated", message="Your access has ended.")
        await self.close(code=UNAUTHENTICATED_CLOSE_CODE)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.context is None:
            return
        if text_data is None:
            await self.send_error(code="invalid_message", message="Send JSON text messages.")
            return
        if len(text_data) > MAX_MESSAGE_CHARS:
            await self.send_error(code="invalid_message", message="The message is too long.")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send_error(code="invalid_json", message="The message is not valid JSON.")
            return
        if not isinstance(message, dict):
            await self.send_error(code="invalid_message", message="Send a JSON object.")
            return
        action, topic = message.get("action"), message.get("topic")
        if action not in ("subscribe", "unsubscribe"):
            await self.send_error(
                code="invalid_action",
                message=f"Unknown action {action!r}; one of subscribe, unsubscribe.",
                topic=topic if isinstance(topic, str) else None,
            )
            return
        parsed = parse_topic(topic)
        if parsed is None:
            await self.send_error(
                code="invalid_topic",
                message="A topic is job:<id>, project:<id> or tenant:<id>.",
                topic=topic if isinstance(topic, str) else None,
            )
            return
        if action == "unsubscribe":
            await self.unsubscribe(topic)
        else:
            await self.subscribe(topic, parsed, message.get("since"))

    async def subscribe(self, topic: str, parsed: tuple, since: Any) -> None:
        kind, object_id = parsed
        if since is not None and (
            kind != "job" or isinstance(since, bool) or not isinstance(since, int) or since < 0
        ):
            await self.send_error(
                code="invalid_since",
                message="`since` is a job event's seq (a whole number from 0), on job topics only.",
                topic=topic,
            )
            return
        if topic not in self.subscriptions and len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            await self.send_error(
                code="too_many_subscriptions",
                message=f"At most {MAX_SUBSCRIPTIONS} topics per connection.",
                topic=topic,
            )
            return
        if not await database_sync_to_async(context_still_valid)(self.context):
            await self.send_error(code="not_authenticated", message="Your access has ended.")
            await self.close(code=UNAUTHENTICATED_CLOSE_CODE)
            return
        visible = await database_sync_to_async(topic_visible)(
            tenant=self.context.tenant, kind=kind, object_id=object_id
        )
        if not visible:
            await self.send_error(code="not_found", message="No such topic.", topic=topic)
            return
        # Join the group before reading storage: an event is then either replayed or live.
        await self.channel_layer.group_add(group_for(topic), self.channel_name)
        self.subscriptions[topic] = since
        if since is not None:
            await self.replay(topic, object_id, after=since)
        await self.send_json(
            {"type": "subscribed", "topic": topic, "seq": self.subscriptions[topic], "data": {}}
        )

    async def unsubscribe(self, topic: str) -> None:
        if topic not in self.subscriptions:
            await self.send_error(code="not_subscribed", message="Not subscribed.", topic=topic)
            return
        del self.subscriptions[topic]
        await self.channel_layer.group_discard(group_for(topic), self.channel_name)
        await self.send_json({"type": "unsubscribed", "topic": topic, "seq": None, "data": {}})

    async def replay(
        self, topic: str, job_id: Any, *, after: int, before: int | None = None
    ) -> None:
        """Send the job's events with after < seq (< before), and note the last one sent."""
        events = await database_sync_to_async(job_events_replay)(
            tenant=self.context.tenant, job_id=job_id, since=after
        )
        for event in events:
            if before is not None and event["seq"] >= before:
                break
            await self.send_json(
                {
                    "type": event["type"],
                    "topic": topic,
                    "seq": event["seq"],
                    "data": job_event_data(job_id, event["payload"]),
                }
            )
            self.subscriptions[topic] = event["seq"]

    async def kalkula_event(self, message: dict[str, Any]) -> None:
        """A live event from the channel layer (jobs.events.publish)."""
        if self.context is None or message.get("tenant_id") != str(self.context.tenant.id):
            logger.warning("dropped an event of another tenant on a socket of %s", self.context)
            return
        event = message["event"]
        topic, seq = event["topic"], event.get("seq")
        if topic not in self.subscriptions:
            return  # unsubscribed while it was on its way
        if topic.startswith("job:") and seq is not None:
            last = self.subscriptions[topic]
            if last is not None:
                if seq <= last:
                    return  # replayed already
                if seq > last + 1:
                    await self.replay(topic, topic.partition(":")[2], after=last, before=seq)
            self.subscriptions[topic] = seq
        await self.send_json(event)

    async def send_error(self, *, code: str, message: str, topic: str | None = None) -> None:
        await self.send_json(
            {
                "type": "error",
                "topic": topic,
                "seq": None,
                "data": {"code": code, "message": message},
            }
        )

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, default=str))
