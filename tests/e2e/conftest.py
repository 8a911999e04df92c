import pytest

from tests.jobs.conftest import celery_worker, fast_jobs  # noqa: F401 - shared fixtures
from tests.processes import AsgiServer


@pytest.fixture(scope="module")
def asgi_server(django_db_setup, tmp_path_factory, celery_worker):  # noqa: F811
    """uvicorn serving Kalkula on a free loopback port, as `make run` does; with services, jobs
    run on the real worker process, on the embedded default in the server's own worker threads."""
    server = AsgiServer(log_dir=tmp_path_factory.mktemp("asgi"))
    server.start()
    yield server
    server.stop()
