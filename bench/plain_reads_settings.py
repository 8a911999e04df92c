"""The baseline project of bench/reads.py: bench/api.py's plain project (startproject's settings,
Django's default middleware, DRF with its defaults) on the benchmark's PostgreSQL database, with
connections kept between requests as any production deployment keeps them, and the plain list
views of bench/plain_reads.py. No Kalkula code."""

import os
from urllib.parse import unquote, urlsplit

from bench.plain_settings import *  # noqa: F403 - the same project, extended
from bench.plain_settings import INSTALLED_APPS

# The app "bench" holds the baseline's unmanaged models (bench/plain_reads.py).
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
ROOT_URLCONF = "bench.plain_reads"

_url = urlsplit(os.environ["DATABASE_URL"])
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or ""),
        "CONN_MAX_AGE": 60,
    }
}
