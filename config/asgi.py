"""ASGI entry point: HTTP and websockets in one process (embedded), or only /ws/ in production."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402 - needs Django set up first

application = ProtocolTypeRouter({"http": django_asgi_app})
