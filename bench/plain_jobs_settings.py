"""The baseline project of bench/jobs.py's dispatch over HTTP: bench/api.py's plain project with
the view of bench/plain_jobs.py."""

from bench.plain_settings import *  # noqa: F403 - the same project, another URLconf

ROOT_URLCONF = "bench.plain_jobs"
