"""`/ws/v1/events/`: live events of jobs, projects and the tenant (docs/websockets.md).

Client → server: `{"action": "subscribe", "topic": "job:<id>" | "project:<id>" | "tenant:<id>",
"since": <seq>}` and `{"action": "unsubscribe", "topic": ...}`. Server → client, one JSON object
per message: `{"type", "topic", "seq", "data"}`. `seq` is the job's event number on every job
event (`job.*`, on any topic); events that are not a job's (`version.created`, …) carry `seq: null`.
`since` is for job topics: the job's events after it are replayed (from the database and the
outbox of events not stored yet) before live ones, in order, with no gaps or duplicates. Each
subscription is acknowledged with `{"type": "subscribed", "topic", "seq": <last seq sent or null>}`
once any replay is done. Problems are answered with `{"type": "error", "topic", "seq": null,
"data": {"code", "message"}}` and the socket stays open (except when it is not authenticated, and
when the channel layer fails: then the socket is closed with 1013, see `layer_failed`).
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from redis.exceptions import RedisError

from jobs.events import group_for
from jobs.progress import job_event_data
from jobs.selectors import job_events_replay, parse_topic, topic_visible
from tenants.access import key_access_group, member_access_group, tenant_access_group
from tenants.context import TenantContext
from tenants.models import ApiKey, Membership, Tenant

logger = logging.getLogger(__name__)
# Channel-layer failures: every socket reports one during an outage, so this logger lets one
# record through every 5 s (settings.LOGGING).
layer_logger = logging.getLogger(f"{__name__}.layer")

MAX_MESSAGE_CHARS = 2_000
MAX_SUBSCRIPTIONS = 100
UNAUTHENTICATED_CLOSE_CODE = 4401
# "Try Again Later": the channel layer (Redis) is down or not answering. The client reconnects
# after a pause, with `since` on job topics, and misses nothing.
LAYER_UNAVAILABLE_CLOSE_CODE = 1013
# What channels-redis raises when Redis refuses, drops or stops answering (socket_timeout).
LAYER_ERRORS = (RedisError, OSError)
# The message our guarded channel receive hands to dispatch instead of raising (method
# `kalkula_layer_failed`).
LAYER_FAILED_MESSAGE_TYPE = "kalkula.layer_failed"


def context_still_valid(context: TenantContext) -> bool:
    """A key revoked, a membership ended or a tenant suspended since the handshake ends the
    socket's rights (checked on every subscribe)."""
    grants: QuerySet[ApiKey] | QuerySet[Membership]
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

    # The channel layer ---------------------------------------------------------------------------
    # channels' AsyncConsumer.__call__ sets `channel_receive` to the layer's receive for this
    # socket's channel and waits on it beside the client's messages. When Redis is down that
    # raises, which would end the consumer with a traceback: an HTTP 500 during the handshake, an
    # abrupt drop afterwards. The property keeps the layer's receive and hands channels a guarded
    # one instead.
    _layer_receive: Callable[[], Awaitable[dict[str, Any]]] | None = None
    _layer_down = False  # a layer call failed: the socket is being (or has been) closed
    _layer_error = ""
    _accepted = False
    _closed = False

    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self._guarded_channel_receive

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._layer_receive = receive

    async def _guarded_channel_receive(self) -> dict[str, Any]:
        """The layer's next message for this socket; on a failure, one `kalkula.layer_failed`
        message, and after that nothing (the socket is closed, its layer receive not retried)."""
        assert self._layer_receive is not None
        if not self._layer_down:
            try:
                return await self._layer_receive()
            except LAYER_ERRORS as exc:
                self._layer_down, self._layer_error = True, f"{type(exc).__name__}: {exc}"
                return {"type": LAYER_FAILED_MESSAGE_TYPE}
        await asyncio.Future()  # never done; cancelled when the consumer ends
        raise AssertionError("unreachable")

    async def layer_call(self, method: str, group: str) -> bool:
        """`group_add` or `group_discard` of this socket's channel; False (the failure handled:
        logged, the socket closed with 1013) when the layer fails."""
        try:
            await getattr(self.channel_layer, method)(group, self.channel_name)
        except LAYER_ERRORS as exc:
            self._layer_down, self._layer_error = True, f"{type(exc).__name__}: {exc}"
            await self.kalkula_layer_failed({"type": LAYER_FAILED_MESSAGE_TYPE})
            return False
        return True

    async def kalkula_layer_failed(self, message: dict[str, Any]) -> None:
        """The channel layer failed: this socket can no longer be sure to get its events (and
        Redis may come back without its groups). It is told so and closed with 1013; before the
        handshake is answered, the handshake is accepted first so that the client gets the close
        code and the message rather than a bare HTTP refusal."""
        if self._closed or not hasattr(self, "context"):
            # Closed already, or the handshake not received yet: `connect` sees `_layer_down`.
            return
        layer_logger.warning(
            "websocket: the channel layer failed (%s); closing sockets with %s",
            self._layer_error,
            LAYER_UNAVAILABLE_CLOSE_CODE,
        )
        if not self._accepted:
            await self.accept()
        await self.send_error(
            code="service_unavailable",
            message="Live events are unavailable for a moment; reconnect shortly "
            "(with `since` on job topics).",
        )
        await self.close(code=LAYER_UNAVAILABLE_CLOSE_CODE)

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        self._accepted = True
        await super().accept(subprotocol, headers)

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        await super().close(code, reason)

    # The socket ------------------------------------------------------------------------------
    async def connect(self) -> None:
        self.context: TenantContext | None = self.scope.get("tenant_context")
        self.subscriptions: dict[str, int | None] = {}
        self.access_groups: list[str] = []
        if self.context is not None:
            if self._layer_down:  # the layer's receive failed before the handshake came
                await self.kalkula_layer_failed({"type": LAYER_FAILED_MESSAGE_TYPE})
                return
            # Revoking the key, ending the membership or suspending the tenant closes the socket
            # at once (tenants.services.api_key_revoke, tenants.signals). Joined before the
            # handshake completes, so an ending that follows it cannot be missed.
            tenant_id = self.context.tenant.pk
            groups = [
                tenant_access_group(tenant_id=tenant_id),
                key_access_group(api_key_id=self.context.api_key.pk)
                if self.context.api_key is not None
                else member_access_group(tenant_id=tenant_id, user_id=self.context.user.pk),
            ]
            for group in groups:
                if not await self.layer_call("group_add", group):
                    return
                self.access_groups.append(group)
        await self.accept()
        if self.context is None:
            problem = self.scope.get("auth_error") or {
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
            }
            await self.send_error(**problem)
            await self.close(code=UNAUTHENTICATED_CLOSE_CODE)

    async def disconnect(self, code: int) -> None:
        self._closed = True
        groups = [group_for(topic) for topic in getattr(self, "subscriptions", {})]
        for group in groups + getattr(self, "access_groups", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except LAYER_ERRORS:
                # Redis down: nothing more to tidy there; the layer's group_expiry drops the
                # membership, and the channel's messages expire unread.
                break

    async def kalkula_access_ended(self, message: dict[str, Any]) -> None:
        """The socket's API key was revoked, its membership ended or its tenant suspended."""
        await self.send_error(code="not_authenticated", message="Your access has ended.")
        await self.close(code=UNAUTHENTICATED_CLOSE_CODE)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.context is None or self._closed:
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
        assert isinstance(topic, str)  # parse_topic parses only a str
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
        assert self.context is not None  # receive() answers an authenticated socket only
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
        if not await self.layer_call("group_add", group_for(topic)):
            return
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
        if not await self.layer_call("group_discard", group_for(topic)):
            return
        await self.send_json({"type": "unsubscribed", "topic": topic, "seq": None, "data": {}})

    async def replay(
        self, topic: str, job_id: Any, *, after: int, before: int | None = None
    ) -> None:
        """Send the job's events with after < seq (< before), and note the last one sent."""
        assert self.context is not None  # receive() answers an authenticated socket only
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
        if self._closed:
            return  # an event that arrived between our close and the client's goodbye
        await self.send(text_data=json.dumps(content, default=str))
