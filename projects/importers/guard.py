"""What every spreadsheet passes before a reader opens it: core/archives.py measures it (entries,
inflated size, ratio, cells per sheet) against the ARCHIVE_* and SPREADSHEET_* settings."""

from typing import IO

from core.archives import ArchiveRefused, archive_check, archive_limits
from projects.importers.base import ImportFailed


def spreadsheet_guard(stream: IO[bytes]) -> None:
    """Raise ImportFailed (`archive_limit_exceeded`, naming the limit) when the zip in `stream`
    is over a limit; anything that is not a zip passes (its reader says what it is)."""
    try:
        archive_check(stream, limits=archive_limits())
    except ArchiveRefused as exc:
        code = (
            "unreadable_spreadsheet"
            if exc.limit in ("integrity", "format")
            else ("archive_limit_exceeded")
        )
        raise ImportFailed(code, exc.message, **exc.details) from None
