"""A websocket on a silent topic, on the production settings (uvicorn, channels-redis with the
default CHANNEL_LAYER_SOCKET_TIMEOUT), kept open for `--minutes` without one message, then given an
event. Not a timing: the soak that tests/e2e/test_silent_websocket.py stands for in the suite
(there the silence outlasts a shortened Redis client timeout three times over).

    .venv/bin/python bench/quiet_socket.py [--minutes 10]

Reads DATABASE_URL and REDIS_URL (defaults below; the database is created and migrated if
needed). Creates a tenant `bench-quiet`, its key and a project; subscribes to the project's topic;
after the silence posts a comment over HTTP and waits for its `comment.created` event. Prints how
long the socket stayed open and whether the event came; deletes the tenant and prints the load
average.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database, load_average  # noqa: E402 - needs ROOT on the path
from tests.servers import free_port, stop_process  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kalkula_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["KALKULA_INPROCESS_WORKER"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")

TENANT_SLUG = "bench-quiet"


async def silent_then_event(ws_url: str, http: str, key: str, project_id: str, seconds: float):
    import requests
    import websockets

    headers = {"Authorization": f"Api-Key {key}"}
    topic = f"project:{project_id}"
    async with websockets.connect(ws_url, additional_headers=headers) as socket:
        await socket.send(json.dumps({"action": "subscribe", "topic": topic}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "subscribed"
        opened = time.monotonic()
        try:
            early = await asyncio.wait_for(socket.recv(), timeout=seconds)
        except TimeoutError:
            pass  # the silence held
        else:
            raise AssertionError(f"a message during the silence: {early}")
        silent_for = time.monotonic() - opened
        response = await asyncio.to_thread(
            requests.post,
            f"{http}/api/v1/projects/{project_id}/comments/",
            json={"body": "still there?"},
            headers=headers,
            timeout=10,
        )
        response.raise_for_status()
        event = json.loads(await asyncio.wait_for(socket.recv(), 10))
        return silent_for, event


def main(minutes: float) -> None:
    ensure_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    import requests

    from projects.models import Project
    from tenants.models import Plan, Role, Tenant
    from tenants.services import api_key_create, tenant_create

    Tenant.objects.filter(slug=TENANT_SLUG).delete()
    tenant = tenant_create(slug=TENANT_SLUG, name="Benchmark quiet socket", plan=Plan.TEAM)
    key = api_key_create(tenant=tenant, name="bench", role=Role.MEMBER).secret
    project = Project.objects.create(tenant=tenant, name="Quiet")
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            "config.asgi:application",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        http, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/v1/events/"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{http}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("uvicorn did not start")
            time.sleep(0.2)
        print(f"a socket on a silent project topic for {minutes:g} min …", flush=True)
        silent_for, event = asyncio.run(
            silent_then_event(ws_url, http, key, str(project.id), minutes * 60)
        )
        ok = event["type"] == "comment.created" and silent_for >= minutes * 60
        print(
            f"  open and silent for {silent_for / 60:.1f} min, then got {event['type']}: "
            f"{'ok' if ok else 'FAILED'}"
        )
    finally:
        stop_process(server)
        tenant.delete()
        print(load_average())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    main(parser.parse_args().minutes)
