"""Hostile archives for tests, built by hand: a zip bomb (a small XLSX whose sheet inflates to about
a gigabyte), sheets whose few cells span a huge rectangle, ODS repeats, entries that lie about
their size. Nothing here inflates anything: the bomb's deflate stream is one compressed megabyte
of rows repeated (each copy ends with a full flush, so the copies are independent and identical).
"""

import struct
import zipfile
import zlib
from io import BytesIO
from pathlib import Path

CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
    'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'worksheet+xml"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
    'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
SHEET_HEAD = (
    b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    b'2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"
HEADER_ROW = (
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>Code</t></is></c><c r="B1" t="inlineStr"><is>'
    b'<t>Description</t></is></c><c r="C1" t="inlineStr"><is><t>Unit</t></is></c><c r="D1" '
    b't="inlineStr"><is><t>Quantity</t></is></c><c r="E1" t="inlineStr"><is><t>Unit price</t>'
    b"</is></c></row>"
)
# One budget row without references (each row follows the one before): about 160 bytes.
BOMB_ROW = (
    b'<row><c t="inlineStr"><is><t>1</t></is></c><c t="inlineStr"><is><t>Beton</t></is></c>'
    b'<c t="inlineStr"><is><t>m3</t></is></c><c><v>1</v></c><c><v>2</v></c></row>'
)


def _entry(name: str, data: bytes, method: int, crc: int, size: int, offset: int) -> tuple:
    encoded = name.encode()
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        method,
        0,
        0x21,
        crc,
        len(data),
        size,
        len(encoded),
        0,
        0,
        0,
        0,
        0,
        offset,
    )
    return local + encoded + data, central + encoded


def raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip of (name, stored bytes, method, CRC-32, declared uncompressed size) entries, written
    as given: sizes and CRCs may lie."""
    out = bytearray()
    central = bytearray()
    for name, data, method, crc, size in entries:
        local_part, central_part = _entry(name, data, method, crc, size, len(out))
        out += local_part
        central += central_part
    directory_at = len(out)
    out += central
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), directory_at, 0
    )
    return bytes(out)


def _deflated(data: bytes) -> tuple[bytes, int, int, int]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = compressor.compress(data) + compressor.flush()
    return packed, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)


def _package(sheet: tuple[bytes, int, int, int]) -> bytes:
    parts = [
        ("[Content_Types].xml", *_deflated(CONTENT_TYPES.encode())),
        ("_rels/.rels", *_deflated(ROOT_RELS.encode())),
        ("xl/workbook.xml", *_deflated(WORKBOOK.encode())),
        ("xl/_rels/workbook.xml.rels", *_deflated(WORKBOOK_RELS.encode())),
        ("xl/worksheets/sheet1.xml", *sheet),
    ]
    return raw_zip(parts)


def xlsx(sheet_data: bytes) -> bytes:
    """A one-sheet workbook ("Budget") whose <sheetData> holds `sheet_data`."""
    return _package(_deflated(SHEET_HEAD + sheet_data + SHEET_TAIL))


def bomb_xlsx(path: Path, *, inflated_bytes: int = 1024**3) -> Path:
    """A workbook of about 1 MB whose sheet inflates to `inflated_bytes`: a header row, then the
    same budget row over and over (each row follows the one before)."""
    chunk = BOMB_ROW * (1024 * 1024 // len(BOMB_ROW))
    copies = max(1, (inflated_bytes - len(SHEET_HEAD) - len(HEADER_ROW)) // len(chunk))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(SHEET_HEAD + HEADER_ROW) + compressor.flush(zlib.Z_FULL_FLUSH)
    # After a full flush the compressor starts afresh: the same input gives the same output.
    body = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(SHEET_TAIL) + compressor.flush()
    crc = zlib.crc32(SHEET_HEAD + HEADER_ROW)
    for _ in range(copies):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(SHEET_TAIL, crc)
    size = len(SHEET_HEAD) + len(HEADER_ROW) + len(chunk) * copies + len(SHEET_TAIL)
    sheet = (head + body * copies + tail, zipfile.ZIP_DEFLATED, crc, size)
    path.write_bytes(_package(sheet))
    return path


def far_cell_xlsx(row: int = 200_000, column: str = "ZZ") -> bytes:
    """A header and one cell far away: few bytes, but a reader lays out row × column cells."""
    far = f'<row r="{row}"><c r="{column}{row}" t="inlineStr"><is><t>x</t></is></c></row>'.encode()
    return xlsx(HEADER_ROW + far)


def lying_xlsx(*, actual_rows: int = 200_000, declared_size: int = 1000) -> bytes:
    """A workbook whose sheet declares `declared_size` bytes (and a CRC of that many) but
    inflates to far more."""
    data = SHEET_HEAD + HEADER_ROW + BOMB_ROW * actual_rows + SHEET_TAIL
    packed, method, _, _ = _deflated(data)
    return _package((packed, method, zlib.crc32(data[:declared_size]), declared_size))


ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def ods(rows: str) -> bytes:
    """An ODS spreadsheet with one sheet ("Budget") of `rows` (table-row elements)."""
    content = (
        f'<?xml version="1.0"?><office:document-content {ODS_NAMESPACES}><office:body>'
        f'<office:spreadsheet><table:table table:name="Budget">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
            'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type='
            '"text/xml"/></manifest:manifest>',
        )
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def ods_cell(text: str, repeat: int = 1) -> str:
    repeated = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return (
        f'<table:table-cell office:value-type="string"{repeated}><text:p>{text}</text:p>'
        "</table:table-cell>"
    )


def ods_row(cells: str, repeat: int = 1) -> str:
    repeated = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{repeated}>{cells}</table:table-row>"


# What LibreOffice writes after the last row with content: an empty filler to the sheet's end.
ODS_FILLER = (
    '<table:table-row table:number-rows-repeated="1048559"><table:table-cell '
    'table:number-columns-repeated="1024"/></table:table-row>'
)
