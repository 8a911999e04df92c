"""Which handshakes may open a websocket: a browser's (session cookie) only from a page of the
site itself, with scheme, host and port all the site's own; no Origin means no session."""

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from jobs.routing import websocket_urlpatterns
from jobs.websocket_auth import websocket_stack
from tests.jobs.test_consumer import session_headers

application = websocket_stack(URLRouter(websocket_urlpatterns))
pytestmark = pytest.mark.django_db(transaction=True)


def handshake(headers, *, scheme: str = "ws") -> tuple[bool, dict | None]:
    """(accepted, the first message) of a handshake with `headers`."""

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/v1/events/", headers=headers)
        socket.scope["scheme"] = scheme
        ok, _ = await socket.connect()
        first = None
        if ok and not await socket.receive_nothing(timeout=0.2):
            first = await socket.receive_json_from()
        await socket.disconnect()
        return ok, first

    return async_to_sync(scenario)()


def browser(user, host: bytes | None, origin: bytes | None) -> list[tuple[bytes, bytes]]:
    extra = []
    if host is not None:
        extra.append((b"host", host))
    if origin is not None:
        extra.append((b"origin", origin))
    return session_headers(user, *extra)


def subscribe_ok(user, host, origin, **options) -> bool:
    ok, first = handshake(browser(user, host, origin), **options)
    # An accepted session socket says nothing until asked; a refused one never opens.
    return ok and first is None


@pytest.fixture
def user(session_member):
    return session_member[0]


def test_a_page_of_the_site_itself_opens_a_session_socket(user):
    assert subscribe_ok(user, b"127.0.0.1:8000", b"http://127.0.0.1:8000")
    assert subscribe_ok(user, b"localhost", b"http://localhost")
    assert subscribe_ok(user, b"localhost:80", b"http://localhost")  # the scheme's default port


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        (b"127.0.0.1:8000", b"http://127.0.0.1:9999"),  # another port of the same host
        (b"127.0.0.1:8000", b"https://127.0.0.1:8000"),  # another scheme
        (b"127.0.0.1:8000", b"http://localhost:8000"),  # another host, even an allowed one
        (b"127.0.0.1:8000", b"https://evil.example"),
        (b"evil.example", b"http://evil.example"),  # a Host outside ALLOWED_HOSTS
        (None, b"http://127.0.0.1:8000"),  # no Host: nothing to compare with
        (b"127.0.0.1:8000", b"null"),  # sandboxed frames and file:// pages
        (b"127.0.0.1:8000", b"http://127.0.0.1:notaport"),
    ],
)
def test_any_other_origin_is_refused(user, host, origin):
    ok, _ = handshake(browser(user, host, origin))
    assert not ok


def test_a_session_handshake_without_origin_is_refused(user):
    ok, _ = handshake(browser(user, b"127.0.0.1:8000", None))
    assert not ok


def test_a_key_needs_no_origin(member):
    ok, first = handshake([(b"authorization", f"Api-Key {member.secret}".encode())])
    assert ok and first is None


def test_behind_tls_the_site_is_https(user, settings):
    settings.HTTPS = True
    assert subscribe_ok(user, b"localhost", b"https://localhost")
    assert not handshake(browser(user, b"localhost", b"http://localhost"))[0]


def test_a_wss_socket_is_https(user):
    assert subscribe_ok(user, b"localhost", b"https://localhost", scheme="wss")
    assert not handshake(browser(user, b"localhost", b"http://localhost"), scheme="wss")[0]


def test_the_proxy_header_says_https(user, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    headers = [*browser(user, b"localhost", b"https://localhost"), (b"x-forwarded-proto", b"https")]
    ok, first = handshake(headers)
    assert ok and first is None


def test_csrf_trusted_origins_are_trusted_exactly(user, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.kalkula.example"]
    assert subscribe_ok(user, b"localhost", b"https://app.kalkula.example")
    assert not handshake(browser(user, b"localhost", b"https://app.kalkula.example:8443"))[0]
    assert not handshake(browser(user, b"localhost", b"http://app.kalkula.example"))[0]
