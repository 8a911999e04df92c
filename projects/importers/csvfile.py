"""CSV budgets: UTF-8 (with or without BOM), UTF-16 with BOM or Windows-1250; `,` `;` tab or `|`
separated; streamed row by row."""

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from projects.importers.base import ImportFailed, ImportReport, ParsedPosition, ProgressCallback
from projects.importers.layouts import choose
from projects.importers.tabular import NoHeader, Row, missing_columns, open_table

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (";", ",", "\t", "|")
SNIFF_LINES = 40
_CP1250_NAME = "Windows-1250 (cp1250)"


def detect_encoding(head: bytes) -> str:
    """The codec for a file starting with `head`; ImportFailed when it is no text we read."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise ImportFailed(
            "unsupported_encoding",
            "The file is binary or UTF-16 without a byte order mark, not a CSV we can read: "
            f"save it as CSV in UTF-8 or {_CP1250_NAME}.",
        )
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if (
            len(head) == SAMPLE_BYTES
            and exc.start >= len(head) - 3
            and exc.reason.startswith("unexpected end")
        ):
            return "utf-8"
    try:
        # Python's cp1250 leaves five bytes undefined: a file with them is not Windows-1250.
        head.decode("cp1250")
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            "unsupported_encoding",
            f"The file is neither UTF-8 nor {_CP1250_NAME} text (byte 0x{head[exc.start]:02x} at "
            f"offset {exc.start}): save it as CSV in UTF-8.",
        ) from None
    return "cp1250"


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the most columns, most consistently."""
    lines = [line for line in sample.splitlines()[:SNIFF_LINES] if line.strip()]
    if len(lines) > 1 and len(sample) >= SAMPLE_BYTES // 2:
        lines = lines[:-1]  # the last line of a cut sample may be incomplete
    best, best_score = ",", 0
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not widths:
            continue
        modal = max(set(widths), key=widths.count)
        score = (modal - 1) * widths.count(modal) if modal >= 2 else 0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def csv_rows(
    stream: BinaryIO, *, report: ImportReport, on_progress: ProgressCallback
) -> tuple[Iterator[Row], str, str]:
    """The file's rows (line number, cells), streamed, with the encoding and delimiter sniffed
    from its head (noted in `report`). Budgets and price catalogs read CSV through this."""
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    head = stream.read(SAMPLE_BYTES)
    if not head.strip():
        raise ImportFailed("empty_file", "The file is empty.")
    encoding = detect_encoding(head)
    delimiter = sniff_delimiter(head.decode(encoding, errors="ignore"))
    report.notes.update(format="csv", encoding=encoding, delimiter=delimiter)
    stream.seek(0)

    def rows() -> Iterator[Row]:
        reader = csv.reader(_lines(stream, encoding), delimiter=delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                if number % 2000 == 0:
                    on_progress(stream.tell(), size)
                yield number, cells
        except csv.Error as exc:
            raise ImportFailed("invalid_csv", f"row {number + 1}: {exc}") from None
        on_progress(size, size)

    return rows(), encoding, delimiter


def read(
    stream: BinaryIO, *, report: ImportReport, on_progress: ProgressCallback
) -> Iterator[ParsedPosition]:
    rows, encoding, delimiter = csv_rows(stream, report=report, on_progress=on_progress)
    # Unquoted decimal commas can't live in a comma-separated file: there a lone comma groups
    # thousands.
    try:
        table = open_table(
            rows,
            report=report,
            location=lambda line: f"row {line}",
            choose=choose,
            default_decimal_comma=False if delimiter == "," else None,
        )
    except NoHeader as exc:
        if exc.near is not None:
            line, header = exc.near
            raise missing_columns(f"row {line}", header) from None
        raise ImportFailed(
            "no_header",
            f"No header row in the file (read as {encoding}, separated by {delimiter!r}): "
            "expected columns such as Description, Unit, Quantity (Popis, MJ, Množství; "
            "Beschreibung, Einheit, Menge).",
        ) from None
    report.notes["layout"] = table.layout
    yield from table.positions()


def _lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    """The file's lines as text; a byte the encoding refuses fails naming its line."""
    if encoding == "utf-16":  # its newlines are two bytes: let the codec find them
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            yield from text
        finally:
            text.detach()
        return
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    for number, raw in enumerate(iter(stream.readline, b""), start=1):
        try:
            yield (raw[3:] if number == 1 and encoding == "utf-8-sig" else raw).decode(codec)
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                "unsupported_encoding",
                f"line {number}: the file is not valid {codec} text "
                f"(byte 0x{exc.object[exc.start]:02x}); save it as CSV in UTF-8.",
            ) from None
