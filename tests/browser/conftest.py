"""Browser tests: Debian's Chromium, headless, driven by Playwright's Python package (never a
browser download), against a real uvicorn serving Kalkula with its job worker, as `make run`
has it (with services: the real Celery worker process). The tests share the server's database,
so they commit what they set up (`transaction=True`)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import REQUIRE_SERVICES
from tests.jobs.conftest import celery_worker, fast_jobs  # noqa: F401 - shared fixtures
from tests.processes import ROOT, AsgiServer
from tests.projects.conftest import sample_catalog  # noqa: F401 - shared fixture

CHROMIUM = os.environ.get("KALKULA_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "pw-for-tests-only"


class BrowserServer(AsgiServer):
    """uvicorn with its static files collected first (the admin's styles and kalkula/live.js),
    as `make run` collects them, keeping files where the worker processes look for them."""

    def __init__(self, *, log_dir: Path) -> None:
        super().__init__(log_dir=log_dir)
        # The Celery worker (with services) reads uploads from its var/: the same one.
        self.env["MEDIA_ROOT"] = str(Path(settings.VAR_DIR) / "media")

    def start(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=300,
        )
        super().start()


@pytest.fixture(scope="module")
def live_server_url(django_db_setup, tmp_path_factory, celery_worker):  # noqa: F811
    server = BrowserServer(log_dir=tmp_path_factory.mktemp("browser-server"))
    server.start()
    yield server.http
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        missing = f"no Chromium at {CHROMIUM} (Debian's `chromium` package; .ci/run installs it)"
        if os.environ.get("CI") or REQUIRE_SERVICES:  # in CI a missing browser is a failure
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running on this thread while it lives, and
    # Django refuses ORM calls under a running loop: the tests' own calls (and the database
    # teardown) are plain synchronous calls all the same.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()
        playwright.stop()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def sign_in(page, base_url: str, username: str, *, admin: bool) -> None:
    if admin:
        page.goto(f"{base_url}/admin/login/?next=/admin/")
    else:
        page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def off_the_loop(function, *args, **kwargs):
    """Run `function` in a thread of its own: setup that publishes events (jobs run inline)
    calls async_to_sync, which refuses the thread where Playwright's loop runs."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def run():
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
