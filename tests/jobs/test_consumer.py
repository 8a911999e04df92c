"""The websocket consumer, through the whole ASGI websocket stack, with WebsocketCommunicator."""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from jobs import live
from jobs.consumers import LAYER_UNAVAILABLE_CLOSE_CODE
from jobs.events import CONSUMER_MESSAGE_TYPE, Event, group_for, publish
from jobs.models import Job, JobEvent
from jobs.progress import Progress
from jobs.routing import websocket_urlpatterns
from jobs.services import job_create, job_execute
from jobs.websocket_auth import websocket_stack
from tenants.models import Membership, Role, Tenant
from tenants.services import api_key_revoke
from tests.factories import MembershipFactory, ProjectFactory

# The websocket half of config.asgi's application, built the same way, without importing the
# server entry point (which starts a serving process's background request-log writer).
application = websocket_stack(URLRouter(websocket_urlpatterns))

# Channels' database_sync_to_async closes connections, which a test wrapped in a transaction
# cannot survive.
pytestmark = pytest.mark.django_db(transaction=True)

# A page of the site itself: the handshake's Host and the page's Origin agree.
HOST = (b"host", b"127.0.0.1:8000")
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def run(scenario) -> None:
    async_to_sync(scenario)()


def key_headers(actor) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Api-Key {actor.secret}".encode())]


async def connected(headers, path: str = "/ws/v1/events/") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, path, headers=headers)
    ok, _ = await socket.connect()
    assert ok
    return socket


async def send(socket: WebsocketCommunicator, message) -> dict:
    if isinstance(message, dict):
        message = json.dumps(message)
    await socket.send_to(text_data=message)
    return await socket.receive_json_from(timeout=5)


async def assert_closed_by_the_server(socket) -> None:
    answer = await socket.receive_json_from(timeout=5)
    assert (answer["type"], answer["data"]["code"]) == ("error", "not_authenticated")
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}


async def subscribe(socket, topic: str, since: int | None = None) -> list[dict]:
    """Every message up to and including the subscription's acknowledgement."""
    message = {"action": "subscribe", "topic": topic}
    if since is not None:
        message["since"] = since
    await socket.send_json_to(message)
    received = []
    while True:
        received.append(await socket.receive_json_from(timeout=5))
        if received[-1]["type"] in ("subscribed", "error"):
            return received


async def receive_until(socket, event_type: str) -> list[dict]:
    received = []
    while not received or received[-1]["type"] != event_type:
        received.append(await socket.receive_json_from(timeout=5))
    return received


def stored(job: Job) -> list[dict]:
    return [
        {"type": e.type, "seq": e.seq, "data": {"job": str(job.id), **e.payload}}
        for e in JobEvent.objects.filter(job=job).order_by("seq")
    ]


def logged(job: Job, *messages: str) -> None:
    """Events of `job`, stored and published, as a handler's would be."""
    progress = Progress(Job.objects.get(pk=job.pk))
    for message in messages:
        progress.log(message)


def raw_group_send(topic: str, tenant_id, event: dict) -> None:
    message = {"type": CONSUMER_MESSAGE_TYPE, "tenant_id": str(tenant_id), "event": event}
    async_to_sync(get_channel_layer().group_send)(group_for(topic), message)


def test_a_key_follows_a_job_live_from_start_to_end(member):
    job = job_create(
        tenant=member.tenant, kind="selftest", input={"steps": 3, "delay": 0}, dispatch=False
    )
    topic = f"job:{job.id}"

    async def scenario():
        socket = await connected(key_headers(member))
        assert await subscribe(socket, topic) == [
            {"type": "subscribed", "topic": topic, "seq": None, "data": {}}
        ]
        await database_sync_to_async(job_execute)(job_id=str(job.id))
        received = await receive_until(socket, "job.succeeded")
        assert [
            {k: m[k] for k in ("type", "seq", "data")} for m in received
        ] == await database_sync_to_async(stored)(job)
        assert {m["topic"] for m in received} == {topic}
        await socket.disconnect()

    run(scenario)


def test_since_replays_what_was_missed_then_goes_on_live_without_duplicates(member):
    job = job_create(tenant=member.tenant, kind="selftest", dispatch=False)
    logged(job, "one", "two", "three")
    topic = f"job:{job.id}"

    async def scenario():
        socket = await connected(key_headers(member))
        received = await subscribe(socket, topic, since=1)
        assert [(m["type"], m["seq"]) for m in received] == [
            ("job.log", 2),
            ("job.log", 3),
            ("subscribed", 3),
        ]
        assert received[0]["data"] == {"job": str(job.id), "level": "info", "message": "two"}
        # A live event replayed already (it raced the replay) is dropped; the next one arrives.
        await database_sync_to_async(raw_group_send)(
            topic, member.tenant.id, {"type": "job.log", "topic": topic, "seq": 3, "data": {}}
        )
        await database_sync_to_async(logged)(job, "four")
        message = await socket.receive_json_from(timeout=5)
        assert (message["seq"], message["data"]["message"]) == (4, "four")
        assert await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()

    run(scenario)


def test_replay_includes_events_published_but_not_stored_yet(member):
    """A handler inside its transaction: events 3 and 4 are published and kept in the outbox;
    they are stored only when the transaction ends."""
    job = job_create(tenant=member.tenant, kind="selftest", dispatch=False)
    logged(job, "one", "two")
    live.outbox_put(
        job_id=job.id,
        entries=[
            {"seq": 3, "type": "job.progress", "payload": {"progress": 50}, "created_at": ""},
            {"seq": 4, "type": "job.progress", "payload": {"progress": 75}, "created_at": ""},
        ],
    )
    topic = f"job:{job.id}"

    async def scenario():
        socket = await connected(key_headers(member))
        received = await subscribe(socket, topic, since=1)
        assert [(m["type"], m["seq"]) for m in received] == [
            ("job.log", 2),
            ("job.progress", 3),
            ("job.progress", 4),
            ("subscribed", 4),
        ]
        assert received[1]["data"] == {"job": str(job.id), "progress": 50}
        await socket.disconnect()

    run(scenario)


def test_a_gap_in_live_events_is_filled_from_storage(member):
    job = job_create(tenant=member.tenant, kind="selftest", dispatch=False)
    logged(job, "one")
    topic = f"job:{job.id}"

    async def scenario():
        socket = await connected(key_headers(member))
        await subscribe(socket, topic, since=0)
        # Event 2 is stored but its live copy was lost (a full channel, say); 3 arrives live.
        await database_sync_to_async(JobEvent.objects.create)(
            tenant=member.tenant, job=job, seq=2, type="job.log", payload={"message": "two"}
        )
        await database_sync_to_async(raw_group_send)(
            topic, member.tenant.id, {"type": "job.log", "topic": topic, "seq": 3, "data": {}}
        )
        first, second = await socket.receive_json_from(), await socket.receive_json_from()
        assert [(first["seq"], first["data"].get("message")), second["seq"]] == [(2, "two"), 3]
        await socket.disconnect()

    run(scenario)


def test_the_project_and_tenant_topics_carry_job_events_and_others(member):
    project = ProjectFactory(tenant=member.tenant)
    job = job_create(tenant=member.tenant, kind="selftest", project=project, dispatch=False)

    async def scenario():
        socket = await connected(key_headers(member))
        await subscribe(socket, f"project:{project.id}")
        await subscribe(socket, f"tenant:{member.tenant.id}")
        await database_sync_to_async(logged)(job, "hello")
        messages = [await socket.receive_json_from(), await socket.receive_json_from()]
        assert {m["topic"] for m in messages} == {
            f"project:{project.id}",
            f"tenant:{member.tenant.id}",
        }
        assert {m["seq"] for m in messages} == {1}
        # Events that are not a job's carry no seq.
        await database_sync_to_async(publish)(
            Event(
                type="version.created",
                tenant_id=member.tenant.id,
                data={"number": 2},
                topics=[f"project:{project.id}"],
            )
        )
        assert await socket.receive_json_from() == {
            "type": "version.created",
            "topic": f"project:{project.id}",
            "seq": None,
            "data": {"number": 2},
        }
        await socket.disconnect()

    run(scenario)


def test_another_tenants_topics_are_not_found(member, other_tenant):
    theirs = job_create(tenant=other_tenant, kind="selftest", dispatch=False)
    their_project = ProjectFactory(tenant=other_tenant)
    mine = job_create(tenant=member.tenant, kind="selftest", dispatch=False)

    async def scenario():
        socket = await connected(key_headers(member))
        for topic in [
            f"job:{theirs.id}",
            f"project:{their_project.id}",
            f"tenant:{other_tenant.id}",
            f"job:{their_project.id}",
        ]:
            assert await subscribe(socket, topic, since=0 if topic.startswith("job") else None) == [
                {
                    "type": "error",
                    "topic": topic,
                    "seq": None,
                    "data": {"code": "not_found", "message": "No such topic."},
                }
            ]
        assert (await subscribe(socket, f"job:{mine.id}"))[-1]["type"] == "subscribed"
        await socket.disconnect()

    run(scenario)


def test_events_of_another_tenant_are_never_forwarded(member, other_tenant):
    job = job_create(tenant=member.tenant, kind="selftest", dispatch=False)
    topic = f"job:{job.id}"

    async def scenario():
        socket = await connected(key_headers(member))
        await subscribe(socket, topic)
        await database_sync_to_async(raw_group_send)(
            topic, other_tenant.id, {"type": "job.log", "topic": topic, "seq": 1, "data": {}}
        )
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


MALFORMED = [
    ("not json", "invalid_json"),
    ("[1, 2]", "invalid_message"),
    ({"topic": "job:x"}, "invalid_action"),
    ({"action": "dance", "topic": "job:x"}, "invalid_action"),
    ({"action": "subscribe"}, "invalid_topic"),
    ({"action": "subscribe", "topic": "job:123"}, "invalid_topic"),
    ({"action": "subscribe", "topic": f"evidence:{uuid.UUID(int=0)}"}, "invalid_topic"),
    ({"action": "subscribe", "topic": "JOB"}, "invalid_topic"),
    ({"action": "unsubscribe", "topic": f"job:{uuid.UUID(int=0)}"}, "not_subscribed"),
    ("x" * 5000, "invalid_message"),
]


def test_malformed_messages_are_answered_and_the_socket_stays_open(member):
    job = job_create(tenant=member.tenant, kind="selftest", dispatch=False)
    project = ProjectFactory(tenant=member.tenant)
    job_topic, project_topic = f"job:{job.id}", f"project:{project.id}"
    bad_since = [
        ({"action": "subscribe", "topic": job_topic, "since": since}, "invalid_since")
        for since in (-1, "3", 1.5, True)
    ]
    bad_since.append(({"action": "subscribe", "topic": project_topic, "since": 0}, "invalid_since"))

    async def scenario():
        socket = await connected(key_headers(member))
        for message, code in MALFORMED + bad_since:
            answer = await send(socket, message)
            assert (answer["type"], answer["data"]["code"]) == ("error", code), message
            assert answer["data"]["message"]
        await socket.send_to(bytes_data=b"\x00")
        answer = await socket.receive_json_from()
        assert answer["data"]["code"] == "invalid_message"
        assert (await subscribe(socket, job_topic))[-1]["type"] == "subscribed"
        await socket.disconnect()

    run(scenario)


def test_unsubscribing_stops_the_events(member):
    job = job_create(tenant=member.tenant, kind="selftest", dispatch=False)
    topic = f"job:{job.id}"

    async def scenario():
        socket = await connected(key_headers(member))
        await subscribe(socket, topic)
        assert await send(socket, {"action": "unsubscribe", "topic": topic}) == {
            "type": "unsubscribed",
            "topic": topic,
            "seq": None,
            "data": {},
        }
        await database_sync_to_async(logged)(job, "hello")
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ([], "not_authenticated"),
        ([(b"authorization", b"Api-Key kk_nope_nope")], "invalid_api_key"),
        ([(b"authorization", b"Bearer something")], "not_authenticated"),
    ],
)
def test_a_socket_without_valid_credentials_is_told_why_and_closed(db, headers, code):
    async def scenario():
        socket = await connected(headers)
        answer = await socket.receive_json_from()
        assert (answer["type"], answer["data"]["code"]) == ("error", code)
        assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}

    run(scenario)


@pytest.fixture
def dead_channel_layer(settings, unused_tcp_port):
    """The production channel layer (channels-redis) on a port where no Redis listens."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{unused_tcp_port}/0"]},
        }
    }


@pytest.mark.parametrize("first", ["handshake", "layer receive"])
def test_with_the_channel_layer_down_a_handshake_is_refused_with_1013(
    member, dead_channel_layer, first
):
    """Not an HTTP 500: the handshake is accepted, told why and closed with "try again later",
    whether the layer's receive (which channels starts with the consumer) or joining the access
    groups is the first to fail. A socket without valid credentials is still told that."""

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/v1/events/", headers=key_headers(member))
        if first == "layer receive":
            await asyncio.sleep(0.5)
        ok, _ = await socket.connect()
        assert ok
        answer = await socket.receive_json_from()
        assert (answer["type"], answer["data"]["code"]) == ("error", "service_unavailable")
        assert await socket.receive_output() == {
            "type": "websocket.close",
            "code": LAYER_UNAVAILABLE_CLOSE_CODE,
        }
        await socket.disconnect()  # the client's goodbye: no layer call raises either

        socket = await connected([])
        answer = await socket.receive_json_from()
        assert answer["data"]["code"] == "not_authenticated"
        assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_a_revoked_key_loses_the_socket_at_its_next_subscription(member):
    job = job_create(tenant=member.tenant, kind="selftest", dispatch=False)

    async def scenario():
        socket = await connected(key_headers(member))
        await database_sync_to_async(api_key_revoke)(api_key=member.api_key)
        answer = (await subscribe(socket, f"job:{job.id}"))[-1]
        assert answer["data"]["code"] == "not_authenticated"
        assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_revoking_the_key_closes_its_open_sockets_at_once(member, admin):
    async def scenario():
        revoked = await connected(key_headers(member))
        other = await connected(key_headers(admin))
        await database_sync_to_async(api_key_revoke)(api_key=member.api_key)
        # Without a word from the client: the revocation reaches the socket itself.
        await assert_closed_by_the_server(revoked)
        # Another key's socket stays open and answers.
        answer = await send(other, {"action": "unsubscribe", "topic": f"tenant:{admin.tenant.id}"})
        assert answer["data"]["code"] == "not_subscribed"
        await other.disconnect()

    run(scenario)


def session_headers(user, *extra) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return [(b"cookie", cookie.encode()), *extra]


def test_a_browser_session_subscribes_from_our_origin(session_member, tenant):
    user, _ = session_member
    headers = session_headers(user, HOST, ORIGIN)

    async def scenario():
        socket = await connected(headers)
        assert (await subscribe(socket, f"tenant:{tenant.id}"))[-1]["type"] == "subscribed"
        await socket.disconnect()

    run(scenario)


def test_ending_the_membership_closes_the_users_sockets(session_member, tenant):
    user, _ = session_member
    headers = session_headers(user, HOST, ORIGIN)

    async def scenario():
        socket = await connected(headers)
        await database_sync_to_async(Membership.objects.filter(user=user).delete)()
        await assert_closed_by_the_server(socket)

    run(scenario)


def test_suspending_the_tenant_closes_its_sockets_only(member, outsider, tenant):
    async def scenario():
        ours = await connected(key_headers(member))
        theirs = await connected(key_headers(outsider))
        tenant.status = Tenant.Status.SUSPENDED
        await database_sync_to_async(tenant.save)()
        await assert_closed_by_the_server(ours)
        topic = f"tenant:{outsider.tenant.id}"
        assert (await subscribe(theirs, topic))[-1]["type"] == "subscribed"
        await theirs.disconnect()

    run(scenario)


def test_another_sites_page_cannot_open_a_socket_with_the_session(session_member):
    user, _ = session_member
    headers = session_headers(user, HOST, (b"origin", b"https://evil.example"))

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/v1/events/", headers=headers)
        ok, _ = await socket.connect()
        assert not ok

    run(scenario)


def test_a_user_of_several_tenants_names_one(session_member, tenant, other_tenant):
    user, _ = session_member
    MembershipFactory(tenant=other_tenant, user=user, role=Role.VIEWER)
    headers = session_headers(user, HOST, ORIGIN)

    async def scenario():
        socket = await connected(headers)
        answer = await socket.receive_json_from()
        assert answer["data"]["code"] == "tenant_required"
        socket = await connected(headers, f"/ws/v1/events/?tenant={other_tenant.slug}")
        assert (await subscribe(socket, f"tenant:{other_tenant.id}"))[-1]["type"] == "subscribed"
        assert (await subscribe(socket, f"tenant:{tenant.id}"))[-1]["data"]["code"] == "not_found"
        await socket.disconnect()

    run(scenario)
