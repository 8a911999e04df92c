"""Writing rows and figures as spreadsheets hold them, and a workbook's bytes."""

import io
from decimal import Decimal

from openpyxl import Workbook


def col(letters: str) -> int:
    """Column letters → 0-based index (`A` 0, `AT` 45)."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def row(**cells: object) -> list:
    """A row with the given cells by column letters (`row(C="Stavba:", F="…")`)."""
    width = max(col(name) for name in cells) + 1 if cells else 0
    values: list = [None] * width
    for name, value in cells.items():
        values[col(name)] = value
    return values


def save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def number(value: Decimal | None) -> float | None:
    """A figure as a spreadsheet stores it (a binary float)."""
    return None if value is None else float(value)
