"""Receiving a file: its bytes stream to a spool file on local disk while they are counted and
hashed, so a request never holds a file in memory and the SHA-256 (hence the content address) is
known the moment the last byte is in. The file is then stored there, or not at all when the
tenant has it already or the upload is refused."""

import hashlib
import tempfile
from typing import IO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest
from rest_framework import status

from core.errors import ApiError
from evidence.filetypes import HEAD_BYTES
from evidence.storage import SPOOL_PREFIX

UPLOAD_FIELD = "file"
COPY_CHUNK_SIZE = 1024 * 1024
# Room in a multipart body for the part headers and the small `kind` and `project` fields.
MULTIPART_OVERHEAD = 1024 * 1024


def too_large_error(max_size: int) -> ApiError:
    return ApiError(
        code="file_too_large",
        message=f"The file is larger than the limit of {max_size} bytes.",
        status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        details={"max_bytes": max_size},
    )


class SpooledUpload(UploadedFile):
    """A received file in a spool file, with its size, SHA-256 and first bytes (for sniffing its
    type); the spool file is removed when closed."""

    # Always given, unlike an UploadedFile's.
    file: IO[bytes]
    name: str
    size: int

    def __init__(self, *, file: IO[bytes], name: str, size: int, sha256: str, head: bytes) -> None:
        super().__init__(file=file, name=name, content_type=None, size=size)
        self.sha256 = sha256
        self.head = head

    def temporary_file_path(self) -> str:
        # FileSystemStorage moves a file that has one instead of copying it; S3 sends it by path.
        return self.file.name

    def close(self) -> None:
        try:
            self.file.close()
        except FileNotFoundError:  # moved into storage: nothing left to remove
            pass


class Spool:
    """Bytes being received: counted, hashed, their first HEAD_BYTES kept, and written to a
    temporary file in EVIDENCE_SPOOL_DIR; more than `max_size` is refused at once."""

    def __init__(self, *, max_size: int) -> None:
        settings.EVIDENCE_SPOOL_DIR.mkdir(parents=True, exist_ok=True)
        self.max_size = max_size
        self.file = tempfile.NamedTemporaryFile(  # closed by close(), or by the SpooledUpload
            dir=settings.EVIDENCE_SPOOL_DIR, prefix=SPOOL_PREFIX, suffix=".part"
        )
        self.hasher = hashlib.sha256()
        self.size = 0
        self.head = bytearray()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_size:
            self.close()
            raise too_large_error(self.max_size)
        self.hasher.update(data)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        self.file.write(data)

    def finish(self, *, name: str) -> SpooledUpload:
        self.file.flush()
        self.file.seek(0)
        return SpooledUpload(
            file=self.file,
            name=name,
            size=self.size,
            sha256=self.hasher.hexdigest(),
            head=bytes(self.head),
        )

    def close(self) -> None:
        """Throw the bytes away (closing a NamedTemporaryFile removes it)."""
        self.file.close()


def spool_fileobj(fileobj: IO[bytes], *, name: str, max_size: int | None = None) -> SpooledUpload:
    """Spool a file-like object the way an HTTP upload is spooled (for commands, jobs, imports)."""
    spool = Spool(max_size=settings.EVIDENCE_MAX_UPLOAD_BYTES if max_size is None else max_size)
    try:
        while chunk := fileobj.read(COPY_CHUNK_SIZE):
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    return spool.finish(name=name)


class EvidenceUploadHandler(FileUploadHandler):
    """Django upload handler for the `file` field of an evidence upload: streams it into a Spool,
    and stops reading at the size limit."""

    # Large chunks keep the per-chunk Python work small next to the bytes moved.
    chunk_size = 1024 * 1024

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.max_size = settings.EVIDENCE_MAX_UPLOAD_BYTES
        # Named `file` so that Django's parser closes it when it abandons an upload.
        self.file: Spool | None = None
        self.upload: SpooledUpload | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        # A body far larger than the limit is refused before a byte of it is read.
        if content_length and content_length > self.max_size + MULTIPART_OVERHEAD:
            raise too_large_error(self.max_size)

    def new_file(self, field_name: str, file_name: str, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != UPLOAD_FIELD:
            raise ApiError(
                code="invalid",
                message=f"Unexpected file field {field_name!r}: send the document as `file`.",
            )
        if self.upload is not None or self.file is not None:
            raise ApiError(code="invalid", message="Send one file per upload.")
        self.file = Spool(max_size=self.max_size)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.file is not None
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> SpooledUpload:
        assert self.file is not None and self.file_name is not None
        receiver, self.file = self.file, None
        self.upload = receiver.finish(name=self.file_name)
        return self.upload

    def upload_interrupted(self) -> None:
        self.close()

    def close(self) -> None:
        """Remove whatever this handler spooled, finished or not."""
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.upload is not None:
            self.upload.close()
