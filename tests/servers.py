"""Real processes that tests start, break and stop themselves on free loopback ports: redis-server,
a PostgreSQL cluster and gunicorn (the S3 server is tests/s3server.py). The shared PostgreSQL and
Redis servers of the machine are never touched: outages are made on these private instances only."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("KALKULA_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, process: subprocess.Popen | None = None) -> None:
    """Until something accepts connections on the port; fails early if `process` died."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {START_TIMEOUT} s")


def wait_until_healthy(url: str, *, process: subprocess.Popen) -> None:
    """Until `url`/healthz answers 200; fails early if `process` died."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(  # noqa: S310 - the test server, over http
                f"{url}/healthz", timeout=START_TIMEOUT
            ) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url}/healthz did not answer 200 within {START_TIMEOUT} s")


def stop_process(process: subprocess.Popen, *, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any service settings, plus `overrides`."""
    prefixes = ("DATABASE_", "REDIS_", "CELERY_", "AWS_", "RATE_LIMIT_", "REQUEST_LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return env | overrides


# Redis -----------------------------------------------------------------------------------------
@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# PostgreSQL ------------------------------------------------------------------------------------
def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PostgresCluster:
    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
        self.pg_ctl("-l", str(self.directory / "log"), "-o", options, "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def restart(self) -> None:
        # Not `pg_ctl restart`: it would hand the server our captured stdout instead of the log.
        self.stop()
        self.start()


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway cluster (trust authentication, no fsync) in a temporary directory."""
    directory = Path(tempfile.mkdtemp(prefix="kalkula-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = PostgresCluster(directory=directory, port=free_port())
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(cluster.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write("fsync = off\nfull_page_writes = off\nshared_buffers = 16MB\n")
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.pg_ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped by the test
        shutil.rmtree(directory, ignore_errors=True)


# Django processes ------------------------------------------------------------------------------
def manage(env: dict[str, str], *args: str) -> str:
    """Run a management command in its own process; returns its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def create_tenant_and_key(env: dict[str, str], *, slug: str, plan: str = "free") -> str:
    """A tenant and an owner API key, made by the services in one process; returns the key."""
    code = (
        "from tenants.services import api_key_create, tenant_create; "
        f"tenant = tenant_create(slug={slug!r}, name={slug!r}, plan={plan!r}); "
        "print(api_key_create(tenant=tenant, name='server tests', role='owner').secret)"
    )
    return manage(env, "shell", "-c", code).split()[-1]


@dataclass
class Gunicorn:
    url: str
    log_file: IO[bytes]

    def log(self) -> str:
        self.log_file.seek(0)
        return self.log_file.read().decode(errors="replace")


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 1) -> Iterator[Gunicorn]:
    """gunicorn serving config.wsgi on a free port, logging to a temporary file. Stopped
    gracefully (SIGTERM), as a deployment stops it, so its workers run their exit handlers."""
    port = free_port()
    log_file = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--graceful-timeout",
            "10",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=log_file,
    )
    server = Gunicorn(url=f"http://127.0.0.1:{port}", log_file=log_file)
    try:
        try:
            wait_for_port(port, process=process)
            # gunicorn listens before its worker has loaded Django (seconds on a busy machine):
            # ready once the app answers.
            wait_until_healthy(server.url, process=process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"gunicorn did not start:\n{server.log()[-3000:]}") from exc
        yield server
    finally:
        stop_process(process)
        log_file.close()
