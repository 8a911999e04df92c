"""An import is one transaction: a file that fails after rows were written (on PostgreSQL the
rows are COPYed while the file is still being parsed, in a process of its own) leaves no position
and no version behind, nor its reading process, whatever stopped it: a bad row near the end, the
plan's quota, a cancel."""

import io
import os
import threading
from collections.abc import Callable

import pytest
from django.db import connection

from core.errors import ApiError
from jobs.errors import JobCancelled
from jobs.progress import NoProgress
from projects.importers import ImportFailed
from projects.models import BudgetVersion, Position
from projects.services import budget_import
from projects.services import imports as import_service
from tenants.models import Tenant
from tests.projects.conftest import left_behind

pytestmark = pytest.mark.django_db
ROWS = 3 * import_service.WRITE_BATCH


def budget(
    rows: int = ROWS, *, price: str = "12,50", bad_row: int | None = None, last_price: str = ""
) -> bytes:
    lines = ["Č.;Kód;Popis;MJ;Množství;Jedn. cena"]
    for number in range(1, rows + 1):
        quantity = "abc" if number == bad_row else f"{number % 97 + 1},5"
        cost = last_price if number == rows and last_price else price
        lines.append(f"{number};{100000 + number};Zdivo varianta {number};m2;{quantity};{cost}")
    return "\r\n".join(lines).encode("cp1250")


@pytest.fixture(autouse=True)
def quota(tenant, project) -> None:
    """Room for the budgets here (the plan's default is smaller)."""
    Tenant.objects.filter(pk=tenant.pk).update(max_positions_per_project=2 * ROWS)
    project.tenant.refresh_from_db()


@pytest.fixture
def written(monkeypatch) -> list[int]:
    """Rows the import wrote, COPY by COPY, before whatever happened next."""
    counts: list[int] = []
    write = import_service.positions_write

    def spy(**kwargs):
        counts.append(write(**kwargs))
        return counts[-1]

    monkeypatch.setattr(import_service, "positions_write", spy)
    return counts


@pytest.fixture
def readers(monkeypatch, tmp_path) -> Callable[[], list[int]]:
    """The ids of the processes that parsed the files the test imported."""
    log = tmp_path / "readers"
    read_rows = import_service.read_rows

    def spy(*args, **kwargs):
        with log.open("a") as pids:  # a file: the reading process may be another
            pids.write(f"{os.getpid()}\n")
        return read_rows(*args, **kwargs)

    monkeypatch.setattr(import_service, "read_rows", spy)
    return lambda: [int(pid) for pid in log.read_text().split()] if log.exists() else []


def import_budget(project, data: bytes, **kwargs):
    return budget_import(project=project, stream=io.BytesIO(data), filename="b.csv", **kwargs)


def assert_nothing_left(project, readers: Callable[[], list[int]]) -> None:
    project.refresh_from_db()
    assert readers() and not any(map(left_behind, readers()))
    assert not Position.objects.filter(project=project).exists()
    assert not BudgetVersion.objects.filter(project=project).exists()
    assert (project.status, project.current_version) == ("draft", None)
    assert not [t for t in threading.enumerate() if t.name == "import-reader"]


def assert_written_midway(written: list[int]) -> None:
    """On PostgreSQL the rows were written while the file was read: the failure came after."""
    if connection.vendor == "postgresql":
        assert sum(written) >= import_service.WRITE_BATCH


def test_a_bad_row_at_the_end_rolls_back_the_rows_written(project, written, readers):
    with pytest.raises(ImportFailed) as failed:
        import_budget(project, budget(bad_row=ROWS))
    assert failed.value.code == "invalid_file"
    assert f"row {ROWS + 1}" in failed.value.message
    assert_written_midway(written)
    assert_nothing_left(project, readers)


def test_over_the_quota_rolls_back_the_rows_written(tenant, project, written, readers):
    Tenant.objects.filter(pk=tenant.pk).update(max_positions_per_project=ROWS - 1000)
    project.tenant.refresh_from_db()
    with pytest.raises(ApiError) as refused:
        import_budget(project, budget())
    assert refused.value.details == {
        "metric": "positions_per_project",
        "requested": ROWS,
        "limit": ROWS - 1000,
    }
    assert_written_midway(written)
    assert sum(written) <= ROWS - 1000  # never a row over the limit
    assert_nothing_left(project, readers)


class CancelAfterFirstWrite(NoProgress):
    def __init__(self, written: list[int]) -> None:
        self.written = written

    def check_cancelled(self, *, interval: float = 0.2) -> None:
        if self.written:
            raise JobCancelled


def test_a_cancel_midway_rolls_back_and_stops_the_reader(project, written, readers):
    with pytest.raises(JobCancelled):
        import_budget(project, budget(), progress=CancelAfterFirstWrite(written))
    assert written  # cancelled after a COPY (in two passes: after the first write)
    assert_nothing_left(project, readers)


def test_the_whole_file_then_commits(project, written):
    outcome = import_budget(project, budget())
    assert outcome.version.position_count == ROWS
    assert Position.objects.filter(project=project).count() == ROWS
    first, last = Position.objects.filter(project=project).order_by("ordinal")[:: ROWS - 1]
    assert (first.line_key, last.line_key) == ("1", str(ROWS))


def test_a_tender_across_many_batches_is_stored_unpriced(project):
    outcome = import_budget(project, budget(price="0,00"))
    assert outcome.report.unpriced
    assert outcome.version.position_count == ROWS
    assert not Position.objects.filter(project=project, unit_price__isnull=False).exists()


def test_rows_before_the_first_price_keep_their_zero_prices(project):
    outcome = import_budget(project, budget(price="0,00", last_price="7,00"))
    assert not outcome.report.unpriced
    assert Position.objects.filter(project=project, unit_price=0).count() == ROWS - 1
    assert Position.objects.get(project=project, line_key=str(ROWS)).unit_price == 7


def test_on_postgresql_the_file_is_parsed_in_a_process_of_its_own(project, written, readers):
    """PostgreSQL's one pass: the COPYs run while another process parses the file (on one GIL
    the two would take turns), and the process is gone once the import is done."""
    outcome = import_budget(project, budget())
    assert outcome.version.position_count == ROWS
    [reader] = readers()
    if connection.vendor == "postgresql":
        assert reader != os.getpid()
        assert not left_behind(reader)
        assert len(written) > 1  # the first COPYs ran while the file was read
    else:  # read to its end in this process before anything is written
        assert reader == os.getpid()


def test_where_the_system_cannot_fork_the_file_is_read_first_in_this_process(
    project, readers, monkeypatch
):
    monkeypatch.setattr(import_service, "can_fork", lambda: False)
    steps: list[str] = []
    read_rows, write = import_service.read_rows, import_service.positions_write

    def read_spy(*args, **kwargs):
        yield from read_rows(*args, **kwargs)
        steps.append("read")

    def write_spy(**kwargs):
        steps.append("write")
        return write(**kwargs)

    monkeypatch.setattr(import_service, "read_rows", read_spy)
    monkeypatch.setattr(import_service, "positions_write", write_spy)
    outcome = import_budget(project, budget())
    assert outcome.version.position_count == ROWS
    assert readers() == [os.getpid()]
    assert steps[0] == "read" and set(steps[1:]) == {"write"}
