"""Kalkula's settings plus the bare baseline view's URLconf; used only by bench/api.py."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
