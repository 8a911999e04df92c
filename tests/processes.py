"""Real processes for tests: Celery workers and an ASGI server, all on loopback and
all pointed at the test database (so tests that use them are `transaction=True`: the processes
see only committed rows)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# What the worker processes use, and what tests that talk to them set in their own process too:
# short heartbeats and backoffs, so that the paths that wait for them run in a test's time.
FAST_JOB_SETTINGS = {
    "JOBS_HEARTBEAT_SECONDS": 1,
    "JOBS_STALE_AFTER_SECONDS": 2,
    "JOBS_MAX_ATTEMPTS": 3,
    "JOBS_RETRY_BACKOFF_SECONDS": 1,
    "JOBS_RETRY_BACKOFF_MAX_SECONDS": 2,
}


def uses_memory_broker() -> bool:
    return settings.CELERY_BROKER_URL.startswith("memory://")


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05
) -> Any:
    """Poll `predicate` until it returns something truthy (returned), failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def database_url() -> str:
    """The test database (after pytest-django created it), as DATABASE_URL."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(*, broker_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a process of ours that shares this test's database, cache and layer."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "KALKULA_INPROCESS_WORKER"}
    }
    env.update(
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=broker_url or settings.CELERY_BROKER_URL,
        KALKULA_VAR_DIR=str(settings.VAR_DIR),
        PYTHONUNBUFFERED="1",
        **{name: str(value) for name, value in FAST_JOB_SETTINGS.items()},
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update(extra)
    return env


class Process:
    """A child process in its own process group, logging to a file."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], log_dir: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:8]}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group at once, as when a machine dies."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class CeleryWorker(Process):
    """`celery -A config worker -Q high,default,low` with the test job kinds loaded."""

    def __init__(self, *, log_dir: Path, broker_url: str | None = None) -> None:
        self.node = f"test-{uuid.uuid4().hex[:8]}@127.0.0.1"
        command = [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "high,default,low",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            self.node,
            "-I",
            "tests.jobs.kinds",
            "-l",
            "INFO",
        ]
        super().__init__(
            "celery-worker", command, env=process_env(broker_url=broker_url), log_dir=log_dir
        )

    def start(self) -> None:
        super().start()
        wait_until(
            lambda: " ready." in self.log_tail(100_000) or not self.alive(),
            timeout=60,
            what="the Celery worker to start",
        )
        assert self.alive(), f"the Celery worker died:\n{self.log_tail()}"


class AsgiServer(Process):
    """uvicorn serving config.asgi (HTTP and /ws/) on a free loopback port. On the embedded
    default its lifespan runs the in-process worker, as `make run` does."""

    def __init__(self, *, log_dir: Path) -> None:
        self.port = free_port()
        command = [
            str(BIN / "uvicorn"),
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--lifespan",
            "on",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ]
        super().__init__(
            "asgi",
            command,
            env=process_env(
                KALKULA_INPROCESS_WORKER="true" if uses_memory_broker() else "false",
                # Its own var/ (beat's schedule file), not that of a `make run` in this checkout.
                KALKULA_VAR_DIR=str(log_dir),
            ),
            log_dir=log_dir,
        )

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/v1/events/"

    def start(self) -> None:
        super().start()

        def up() -> bool:
            if not self.alive():
                return True
            try:
                return requests.get(f"{self.http}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(up, timeout=60, what="the ASGI server to start", every=0.1)
        assert self.alive(), f"the ASGI server died:\n{self.log_tail()}"


def purge_broker() -> None:
    """Drop messages earlier tests left in the broker's queues (their jobs are long gone)."""
    celery_app.control.purge()


class ThisProcessBroker:
    """Points this process's Celery app (what `job_dispatch` publishes with) at another broker,
    and back."""

    def __init__(self) -> None:
        self.original_url = celery_app.conf.broker_url
        self.original_env = os.environ.get("CELERY_BROKER_URL")

    def use(self, url: str) -> None:
        # Celery prefers the environment variable to its configuration.
        os.environ["CELERY_BROKER_URL"] = url
        celery_app.conf.broker_url = url
        # Kombu keeps its pools by broker URL: dropping the app's references is enough.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    def restore(self) -> None:
        self.use(self.original_url)
        if self.original_env is None:
            del os.environ["CELERY_BROKER_URL"]
