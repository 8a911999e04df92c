"""WSGI entry point: gunicorn serves the REST API and the admin in production."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from tenants.request_log import request_log_start_flusher  # noqa: E402 - needs Django set up first

# A serving process writes its request log in the background (tenants/request_log.py).
request_log_start_flusher()

# Import every view now rather than on the first request, then tell the garbage collector that
# all of it lives as long as the process, so it stops walking it again and again: that walk was
# 40% of the CPU of a GET /api/v1/me (measured in process, see bench/api.py).
get_resolver().url_patterns  # noqa: B018 - loads the URLconf and with it every view module
gc.collect()
gc.freeze()
