"""The embedded default's worker: Celery worker threads (and the beat schedule) inside the ASGI
server process, on the in-memory broker, started and stopped by the server's lifespan.

Production runs `celery -A config worker` and `celery -A config beat` instead, and leaves
KALKULA_INPROCESS_WORKER off (its default whenever the broker is not `memory://`)."""

import asyncio
import logging
import os
import socket
import threading
from typing import Any

from celery.beat import EmbeddedService
from django.conf import settings

from config.celery import QUEUES
from config.celery import app as celery_app
from core import channels

logger = logging.getLogger(__name__)


class InProcessWorker:
    """A Celery WorkController on the threads pool, run by a daemon thread of this process (it
    installs no signal handlers, which only the main thread may do)."""

    def __init__(self, *, concurrency: int, beat: bool) -> None:
        self.controller = celery_app.WorkController(
            pool_cls="threads",
            concurrency=concurrency,
            queues=list(QUEUES),
            hostname=f"inprocess-{os.getpid()}@{socket.gethostname()}",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        self.thread = threading.Thread(
            target=self.controller.start, name="celery-inprocess", daemon=True
        )
        self.beat = (
            EmbeddedService(
                celery_app, thread=True, schedule_filename=settings.CELERY_BEAT_SCHEDULE_FILENAME
            )
            if beat
            else None
        )

    def start(self) -> None:
        self.thread.start()
        if self.beat is not None:
            # thread=True makes it a _Threaded; celery-types' _Process lacks Process.start.
            self.beat.start()  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.beat is not None:
            self.beat.stop()
        self.controller.stop(in_sighandler=False)
        self.thread.join(timeout=10)


_lock = threading.Lock()
_worker: InProcessWorker | None = None


def inprocess_worker_start(*, beat: bool = True) -> InProcessWorker:
    """Start this process's worker, once."""
    global _worker
    with _lock:
        if _worker is None:
            _worker = InProcessWorker(concurrency=settings.JOBS_INPROCESS_CONCURRENCY, beat=beat)
            _worker.start()
            logger.info(
                "in-process Celery worker started (%s threads, beat %s)",
                settings.JOBS_INPROCESS_CONCURRENCY,
                "on" if beat else "off",
            )
        return _worker


def inprocess_worker_stop() -> None:
    global _worker
    with _lock:
        if _worker is not None:
            _worker.stop()
            _worker = None


async def lifespan(scope: dict, receive: Any, send: Any) -> None:
    """ASGI lifespan: with KALKULA_INPROCESS_WORKER, run the worker while the server runs, and let
    its threads publish events through the server's loop (where the in-memory channel layer is)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if settings.KALKULA_INPROCESS_WORKER:
                channels.bind_server_loop(asyncio.get_running_loop())
                await asyncio.to_thread(inprocess_worker_start)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if settings.KALKULA_INPROCESS_WORKER:
                await asyncio.to_thread(inprocess_worker_stop)
                channels.bind_server_loop(None)
            await send({"type": "lifespan.shutdown.complete"})
            return
