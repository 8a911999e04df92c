"""Budget fixtures: a project, and running an import the way the API does (upload → job) with the
job executed inline by the same `job_execute` a worker runs."""

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.uploadedfile import SimpleUploadedFile

from catalogs.models import PriceCatalog
from catalogs.services import catalog_import
from jobs.events import group_for, topic_for
from jobs.models import Job
from jobs.services import job_execute
from projects.models import Project
from tests.conftest import SAMPLE_DATA, Actor
from tests.factories import ProjectFactory


@pytest.fixture
def project(tenant) -> Project:
    return ProjectFactory(tenant=tenant, name="Bytový dům Nová 12")


def left_behind(pid: int) -> bool:
    """Whether `pid`, a process that read an import's file other than this one, still exists
    (not yet reaped)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def sample(name: str) -> bytes:
    return (SAMPLE_DATA / name).read_bytes()


ImportFile = Callable[..., Job]


@pytest.fixture
def import_file(member) -> ImportFile:
    """Upload `data` as `name` to the project's imports endpoint, run the job, return it."""

    def run(project: Project, data: bytes | Path, name: str, actor: Actor = member) -> Job:
        if isinstance(data, Path):
            data = data.read_bytes()
        response = actor.client.post(
            f"/api/v1/projects/{project.id}/imports/",
            {"file": SimpleUploadedFile(name, data)},
            format="multipart",
        )
        assert response.status_code == 202, response.content
        assert response.json()["kind"] == "import_budget"
        job_execute(job_id=response.json()["id"])
        job = Job.objects.get(pk=response.json()["id"])
        project.refresh_from_db()
        return job

    return run


class EventListener:
    """Listens on a project's topic group of the channel layer (in memory or Redis)."""

    def __init__(self, project: Project) -> None:
        self.layer = get_channel_layer()
        self.group = group_for(topic_for("project", project.id))
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(self.group, self.channel)

    def receive(self, timeout: float = 5) -> dict:
        async def receive() -> dict:
            return await asyncio.wait_for(self.layer.receive(self.channel), timeout)

        return async_to_sync(receive)()["event"]

    def close(self) -> None:
        async_to_sync(self.layer.group_discard)(self.group, self.channel)


@pytest.fixture
def listen():
    listeners = []

    def start(project: Project) -> EventListener:
        listener = EventListener(project)
        listeners.append(listener)
        return listener

    yield start
    for listener in listeners:
        listener.close()


@pytest.fixture
def sample_catalog(tenant) -> PriceCatalog:
    """The sample catalog (catalog.csv) imported as the tenant's catalog, edition 1."""
    with (SAMPLE_DATA / "catalog.csv").open("rb") as stream:
        outcome = catalog_import(
            tenant=tenant, stream=stream, filename="catalog.csv", name="Sample catalog"
        )
    return outcome.catalog
