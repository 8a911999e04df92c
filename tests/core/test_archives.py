"""core/archives.py: a zip is measured before anything opens it, with flat memory."""

import io
import zipfile

import pytest

from core.archives import ArchiveLimits, ArchiveRefused, archive_check
from tests.archives import (
    BOMB_ROW,
    HEADER_ROW,
    ODS_FILLER,
    bomb_xlsx,
    far_cell_xlsx,
    lying_xlsx,
    ods,
    ods_cell,
    ods_row,
    xlsx,
)
from tests.conftest import SAMPLE_DATA

LIMITS = ArchiveLimits(
    max_entries=100,
    max_uncompressed_bytes=512 * 1024**2,
    max_ratio=500,
    max_cells_per_sheet=5_000_000,
    max_cells=10_000_000,
)


def check(data: bytes, *, sheets: bool = True, **limits):
    stream = io.BytesIO(data)
    limits = ArchiveLimits(**{**LIMITS.__dict__, **limits})
    measure = archive_check(stream, limits=limits, sheets=sheets)
    assert stream.tell() == 0  # left at its start for the reader
    return measure


def refused(data: bytes, **kwargs) -> ArchiveRefused:
    with pytest.raises(ArchiveRefused) as caught:
        check(data, **kwargs)
    return caught.value


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> bytes:
    return bomb_xlsx(tmp_path_factory.mktemp("bomb") / "bomb.xlsx").read_bytes()


class TestWhatPasses:
    def test_the_sample_workbook(self):
        measure = check((SAMPLE_DATA / "budget-v1.xlsx").read_bytes())
        assert measure.entries > 3
        assert list(measure.cells.values()) == [measure.cells["xl/worksheets/sheet1.xml"]]
        assert 2000 < measure.cells["xl/worksheets/sheet1.xml"] < 3000

    def test_a_workbook_of_cells_without_references_counts_them_in_order(self):
        measure = check(xlsx(BOMB_ROW * 1000))
        assert measure.cells == {"xl/worksheets/sheet1.xml": 5000}

    def test_an_ods_with_libreoffices_trailing_filler(self):
        data = ods(ods_row(ods_cell("a") * 5, repeat=3) + ODS_FILLER)
        assert check(data).cells == {"content.xml (Budget)": 15}

    def test_what_is_not_a_zip_is_not_measured(self):
        assert check(b"code,description\n1,Concrete\n") is None
        assert check(b"PK\x03\x04 but not really a zip", sheets=False) is None


class TestWhatIsRefused:
    def test_a_zip_bomb_by_its_directory_without_inflating_it(self, bomb):
        assert len(bomb) < 5 * 1024**2
        for sheets in (False, True):
            error = refused(bomb, sheets=sheets)
            assert error.limit == "ARCHIVE_MAX_UNCOMPRESSED_BYTES"
            assert error.details["value"] > 1000 * 1024**2
            assert "ARCHIVE_MAX_UNCOMPRESSED_BYTES" in error.message

    def test_an_entry_that_inflates_too_many_times(self, bomb):
        error = refused(bomb, max_uncompressed_bytes=2 * 1024**3, max_ratio=100)
        assert error.limit == "ARCHIVE_MAX_RATIO"
        assert error.details["value"] > 100

    def test_too_many_entries(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for number in range(101):
                archive.writestr(f"entry-{number}.txt", "x")
        assert refused(buffer.getvalue(), sheets=False).limit == "ARCHIVE_MAX_ENTRIES"

    def test_two_cells_far_apart_lay_out_a_huge_sheet(self):
        data = far_cell_xlsx(row=200_000, column="ZZ")
        assert len(data) < 3000
        error = refused(data)
        assert error.limit == "SPREADSHEET_MAX_CELLS_PER_SHEET"
        assert error.details["value"] >= 200_000 * 702
        # Its directory says nothing wrong: only the contents tell.
        assert check(data, sheets=False).cells == {}

    def test_ods_repeats(self):
        rows = ods_row(ods_cell("x", repeat=1000), repeat=20_000)
        error = refused(ods(rows))
        assert error.limit == "SPREADSHEET_MAX_CELLS_PER_SHEET"
        assert error.details["value"] == 20_000_000

    def test_ods_empty_repeats_before_a_far_cell(self):
        empty = '<table:table-cell table:number-columns-repeated="1000"/>'
        rows = (
            ods_row(ods_cell("a")) + ods_row(empty, repeat=100_000) + ods_row(empty + ods_cell("z"))
        )
        assert refused(ods(rows)).details["value"] == 100_002 * 1001

    def test_the_workbook_total(self):
        data = xlsx(HEADER_ROW + BOMB_ROW * 2000)
        assert refused(data, max_cells=5000).limit == "SPREADSHEET_MAX_CELLS"

    def test_an_entry_that_inflates_beyond_what_it_declares(self):
        error = refused(lying_xlsx(actual_rows=10_000, declared_size=1000))
        assert error.limit == "integrity"
        assert "inflates beyond the 1000 bytes it declares" in error.message

    def test_a_binary_workbook(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("xl/workbook.bin", b"\x00" * 10)
        assert refused(buffer.getvalue()).limit == "format"
