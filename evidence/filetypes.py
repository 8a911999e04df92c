"""What a file is, read from its first bytes (never its name or the client's claim)."""

from typing import IO

import magic
from django.conf import settings
from rest_framework import status

from core.archives import ArchiveRefused, archive_check, archive_limits, is_zip
from core.errors import ApiError

# How much of a file libmagic is shown: enough for every type on the allow-list (office files are
# recognised by their first ZIP entries), and small, as each upload keeps it in memory.
HEAD_BYTES = 256 * 1024


def sniff_type(head: bytes) -> str:
    """The MIME type libmagic reads from a file's first bytes."""
    return magic.from_buffer(head, mime=True)


def check_allowed(content_type: str) -> None:
    """Refuse (415) a type outside EVIDENCE_ALLOWED_TYPES."""
    if content_type not in settings.EVIDENCE_ALLOWED_TYPES:
        raise ApiError(
            code="unsupported_type",
            message=f"Files of type {content_type} are not accepted.",
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            details={"content_type": content_type},
        )


def check_archive(head: bytes, file: IO[bytes]) -> None:
    """Refuse (413, naming the limit) a zip (XLSX, ODS, DOCX, …) whose directory is over the
    ARCHIVE_* limits: too many entries, too large inflated, or inflating too many times. Read
    from the directory alone; an import measures a spreadsheet's contents before opening it."""
    if not is_zip(head):
        return
    try:
        archive_check(file, limits=archive_limits(), sheets=False)
    except ArchiveRefused as exc:
        raise ApiError(
            code="archive_limit_exceeded",
            message=exc.message,
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            details=exc.details,
        ) from None
