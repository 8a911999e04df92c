"""WSGI entry point: gunicorn serves the REST API and the admin in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from tenants.request_log import request_log_start_flusher  # noqa: E402 - needs Django set up first

# A serving process writes its request log in the background (tenants/request_log.py).
request_log_start_flusher()
