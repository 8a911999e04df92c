"""ASGI entry point: HTTP and websockets in one process (embedded), or only /ws/ in production."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402 - needs Django set up first

from tenants.request_log import request_log_start_flusher  # noqa: E402

# A serving process writes its request log in the background (tenants/request_log.py).
request_log_start_flusher()

application = ProtocolTypeRouter({"http": django_asgi_app})
