"""Text out of stored documents, for content search: streamed, and never more than `limit`
characters however large the document is."""

import codecs
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from itertools import chain
from typing import IO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from django.conf import settings

from evidence.storage import iter_object

READ_CHUNK_SIZE = 64 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExtractionFailed(Exception):
    """The document's bytes could not be read as the type they were sniffed as."""


class _Collector:
    """Pieces of text until `limit` characters are reached."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.length = 0

    @property
    def full(self) -> bool:
        return self.length >= self.limit

    def add(self, text: str | None) -> None:
        if text and not self.full:
            text = text.strip()
            self.parts.append(text)
            self.length += len(text) + 1

    def text(self) -> str:
        return _clean("\n".join(self.parts), self.limit)


def _clean(text: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return text.replace("\x00", "")[:limit]


def _encoding_of(head: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 when the bytes say so, else cp1250 (Czech exports)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1250"
    return "utf-8-sig"


def _plain_text(key: str, limit: int) -> str:
    parts: list[str] = []
    length = 0
    with closing(iter_object(key, chunk_size=READ_CHUNK_SIZE)) as chunks:
        head = next(chunks, b"")
        decoder = codecs.getincrementaldecoder(_encoding_of(head))(errors="replace")
        for chunk in chain([head], chunks):
            parts.append(decoder.decode(chunk))
            length += len(parts[-1])
            if length >= limit:
                break
        else:
            parts.append(decoder.decode(b"", final=True))
    return _clean("".join(parts), limit)


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks, for parsers that want a file."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            self.pending = next(self.chunks, b"")
            if not self.pending:
                return 0
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def _xml_text(key: str, limit: int) -> str:
    collector = _Collector(limit)
    with closing(iter_object(key, chunk_size=READ_CHUNK_SIZE)) as chunks:
        reader = io.BufferedReader(_ChunkReader(chunks), buffer_size=READ_CHUNK_SIZE)
        try:
            for _, element in iterparse(reader, events=("end",)):
                collector.add(element.text)
                element.clear()
                if collector.full:
                    break
        except (ParseError, DefusedXmlException) as exc:
            raise ExtractionFailed(f"Not well-formed or unsafe XML: {exc}") from exc
    return collector.text()


@contextmanager
def _local_copy(key: str) -> Iterator[IO[bytes]]:
    """The object copied to a temporary file, for formats that need random access (ZIP, PDF)."""
    settings.EVIDENCE_SPOOL_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=settings.EVIDENCE_SPOOL_DIR, prefix="evidence-x-") as copy:
        with closing(iter_object(key)) as chunks:
            for chunk in chunks:
                copy.write(chunk)
        copy.seek(0)
        yield copy


def _xlsx_text(key: str, limit: int) -> str:
    # Imported here: only job workers read workbooks, and web processes stay smaller without.
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    collector = _Collector(limit)
    with _local_copy(key) as copy:
        try:
            workbook = load_workbook(copy, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
            raise ExtractionFailed(f"Not a readable XLSX workbook: {exc}") from exc
        try:
            for sheet in workbook.worksheets:
                collector.add(sheet.title)
                for row in sheet.iter_rows(values_only=True):
                    collector.add("\t".join(str(value) for value in row if value is not None))
                    if collector.full:
                        return collector.text()
        finally:
            workbook.close()
    return collector.text()


def _pdf_text(key: str, limit: int) -> str:
    # Imported here, as openpyxl above.
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    collector = _Collector(limit)
    with _local_copy(key) as copy:
        try:
            reader = PdfReader(copy)
            for page in reader.pages:
                collector.add(page.extract_text())
                if collector.full:
                    break
        except PyPdfError as exc:
            raise ExtractionFailed(f"Not a readable PDF: {exc}") from exc
        except Exception as exc:  # pypdf meets arbitrary bytes with arbitrary errors
            raise ExtractionFailed(f"Not a readable PDF: {type(exc).__name__}: {exc}") from exc
    return collector.text()


READERS: dict[str, Callable[[str, int], str]] = {
    "text/plain": _plain_text,
    "text/csv": _plain_text,
    "application/json": _plain_text,
    "text/xml": _xml_text,
    "application/xml": _xml_text,
    XLSX: _xlsx_text,
    "application/pdf": _pdf_text,
}


def has_text(content_type: str) -> bool:
    """Whether documents of this type carry text we extract."""
    return content_type in READERS


def extract_text(*, key: str, content_type: str, limit: int) -> str | None:
    """The text of the stored object, or None when its type carries none we read."""
    reader = READERS.get(content_type)
    return None if reader is None else reader(key, limit)
