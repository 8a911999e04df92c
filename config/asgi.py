"""ASGI entry point: HTTP and websockets in one process (embedded), or only /ws/ in production.

`lifespan` starts the embedded default's in-process job worker (jobs/inprocess.py); servers that
send no lifespan events (daphne) simply never start it."""

import gc
import os

from django.core.asgi import get_asgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

# These need Django set up first.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.inprocess import lifespan  # noqa: E402
from jobs.routing import websocket_urlpatterns  # noqa: E402
from jobs.websocket_auth import websocket_stack  # noqa: E402
from tenants.request_log import request_log_start_flusher  # noqa: E402

# A serving process writes its request log in the background (tenants/request_log.py).
request_log_start_flusher()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_stack(URLRouter(websocket_urlpatterns)),
        "lifespan": lifespan,
    }
)

# As in config/wsgi.py: load every view, then keep the garbage collector off what lives as long
# as the process.
get_resolver().url_patterns  # noqa: B018 - loads the URLconf and with it every view module
gc.collect()
gc.freeze()
