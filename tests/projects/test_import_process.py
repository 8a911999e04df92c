"""The process an import's file is parsed in (PostgreSQL's one pass): rows, progress, the report,
the calls it asks of the importing process and its failures come back whole, and it never
outlives the import."""

import os
import pickle
import signal
from collections.abc import Callable, Iterator

import pytest

from projects.importers import ImportFailed, ImportReport
from projects.importers.base import Problem
from projects.services.import_process import ReaderProcessDied, batches_in_child
from tests.projects.conftest import left_behind


def rows_of(read, *, report=None, previous=lambda: None, progress=None, batch_size=2) -> list:
    batches = batches_in_child(
        read,
        carry=report if report is not None else ImportReport(),
        on_progress=(lambda done, total: progress.append((done, total)))
        if progress is not None
        else (lambda done, total: None),
        previous=previous,
        batch_size=batch_size,
    )
    return [row for batch in batches for row in batch]


def test_rows_progress_and_the_report_come_back_from_another_process():
    report = ImportReport()
    progress: list[tuple[int, int]] = []

    def read(on_progress: Callable, previous: Callable) -> Iterator[tuple]:
        for number in range(1, 6):
            on_progress(number, 5)
            report.warning(f"row {number}", "a warning")
            yield number, os.getpid()
        report.count("sheets", 2)
        report.declare("SO 01", "", None)
        report.declared_totals["net"] = "12.50"

    rows = rows_of(read, report=report, progress=progress)

    assert [number for number, _ in rows] == [1, 2, 3, 4, 5]
    child = {pid for _, pid in rows}
    assert len(child) == 1 and child != {os.getpid()}
    assert not left_behind(child.pop())  # reaped
    assert report.warning_count == 5 and report.warnings[-1].where == "row 5"
    assert report.notes == {"sheets": 2} and report.declared_totals == {"net": "12.50"}
    assert progress == sorted(progress) and progress[-1] == (5, 5)


def test_the_child_asks_this_process_for_what_it_needs_from_the_database():
    def read(on_progress: Callable, previous: Callable) -> Iterator[tuple]:
        current = previous()
        yield current["asked_in"], os.getpid()

    [(asked_in, child)] = rows_of(read, previous=lambda: {"asked_in": os.getpid()})
    assert asked_in == os.getpid() != child


def test_a_failing_call_fails_the_child_with_its_error():
    def refuse() -> dict:
        raise ImportFailed("source_not_found", "no tender to answer")

    def read(on_progress: Callable, previous: Callable) -> Iterator[tuple]:
        previous()
        yield ("never",)

    with pytest.raises(ImportFailed) as failed:
        rows_of(read, previous=refuse)
    assert (failed.value.code, failed.value.message) == ("source_not_found", "no tender to answer")


def test_the_files_problems_come_back_whole_with_what_was_noted_before():
    report = ImportReport()

    def read(on_progress: Callable, previous: Callable) -> Iterator[tuple]:
        yield ("first",)
        report.warning("row 2", "a unit nobody knows")
        raise ImportFailed(
            "invalid_file",
            "The file has 1 problem.",
            problems=[Problem("row 3", "not a number", "quantity")],
            sheet="SO 01",
        )

    with pytest.raises(ImportFailed) as failed:
        rows_of(read, report=report)
    error = failed.value
    assert (error.code, error.message, error.details) == (
        "invalid_file",
        "The file has 1 problem.",
        {"sheet": "SO 01"},
    )
    assert error.problems == [Problem("row 3", "not a number", "quantity")]
    assert error.__cause__ is None  # says all it has to say
    assert report.warnings == [Problem("row 2", "a unit nobody knows", "")]


def test_an_unexpected_error_keeps_its_type_and_the_childs_traceback():
    def read(on_progress: Callable, previous: Callable) -> Iterator[tuple]:
        yield ("first",)
        {}["a missing cell"]

    with pytest.raises(KeyError) as failed:
        rows_of(read)
    assert "a missing cell" in str(failed.value)
    assert 'in read\n    {}["a missing cell"]' in str(failed.value.__cause__)


class Unpicklable(Exception):
    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} {second}")


def test_an_error_that_cannot_travel_is_named():
    def read(on_progress: Callable, previous: Callable) -> Iterator[tuple]:
        raise Unpicklable("odd", "error")
        yield

    with pytest.raises(RuntimeError, match="reading the file failed: Unpicklable: odd error"):
        rows_of(read)


def test_a_child_killed_midway_fails_the_import_saying_so():
    def read(on_progress: Callable, previous: Callable) -> Iterator[tuple]:
        yield ("first",)
        os.kill(os.getpid(), signal.SIGKILL)
        yield ("never",)

    with pytest.raises(ReaderProcessDied, match=r"ended unexpectedly \(signal 9\)"):
        rows_of(read, batch_size=1)


def test_leaving_early_kills_and_reaps_the_child():
    def endless(on_progress: Callable, previous: Callable) -> Iterator[tuple]:
        number = 0
        while True:
            number += 1
            yield number, os.getpid()

    batches = batches_in_child(
        endless, carry=ImportReport(), on_progress=lambda *_: None, previous=dict, batch_size=10
    )
    first = next(batches)
    child = first[0][1]
    assert left_behind(child)
    batches.close()
    assert not left_behind(child)


def test_import_failed_pickles_whole():
    error = ImportFailed("no_positions", "No positions.", problems=[Problem("a", "b")], rows=3)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own
    assert (copy.code, copy.message, copy.problems, copy.details) == (
        "no_positions",
        "No positions.",
        [Problem("a", "b", "")],
        {"rows": 3},
    )
