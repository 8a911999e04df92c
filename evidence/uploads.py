"""Receiving a file: its bytes stream to a spool file on local disk while they are counted and
hashed, so a request never holds a file in memory and the SHA-256 (hence the content address) is
known the moment the last byte is in. On S3, a tenant's file larger than one part is also sent to
its object while it arrives (evidence.multipart). The file is then stored, or not at all when the
tenant has it already or the upload is refused."""

import hashlib
import tempfile
from typing import IO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest
from rest_framework import status
from rest_framework.views import APIView

from core.errors import ApiError
from evidence.filetypes import HEAD_BYTES, sniff_type
from evidence.models import evidence_streamed_key
from evidence.multipart import StreamedUpload, streamed_part_size
from evidence.storage import SPOOL_PREFIX
from tenants.models import Tenant

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
    type), and on S3 the multipart upload it was sent to as it arrived (`remote`; None for a file
    of one part, or one spooled for no tenant); when closed, the spool file is removed and the
    multipart upload aborted unless it was completed."""

    # Always given, unlike an UploadedFile's.
    file: IO[bytes]
    name: str
    size: int

    def __init__(
        self,
        *,
        file: IO[bytes],
        name: str,
        size: int,
        sha256: str,
        head: bytes,
        remote: StreamedUpload | None,
        sniffed_type: str | None = None,
    ) -> None:
        super().__init__(file=file, name=name, content_type=None, size=size)
        self.sha256 = sha256
        self.head = head
        self.remote = remote
        self._sniffed_type = sniffed_type

    @property
    def sniffed_type(self) -> str:
        """The type its first bytes say, sniffed once (a file sent on as it arrived was sniffed
        already, for its object's content type)."""
        if self._sniffed_type is None:
            self._sniffed_type = sniff_type(self.head)
        return self._sniffed_type

    def temporary_file_path(self) -> str:
        # FileSystemStorage moves a file that has one instead of copying it; S3 sends it by path.
        return self.file.name

    def close(self) -> None:
        if self.remote is not None:  # before the file goes: its threads read from it
            self.remote.abort()
        try:
            self.file.close()
        except FileNotFoundError:  # moved into storage: nothing left to remove
            pass


class Spool:
    """Bytes being received: counted, hashed, their first HEAD_BYTES kept, and written to a
    temporary file in EVIDENCE_SPOOL_DIR; more than `max_size` is refused at once. On S3, once a
    tenant's file is larger than one part, its parts are sent as they fill (evidence.multipart)."""

    def __init__(self, *, max_size: int, tenant_id: object | None = None) -> None:
        settings.EVIDENCE_SPOOL_DIR.mkdir(parents=True, exist_ok=True)
        self.max_size = max_size
        self.file = tempfile.NamedTemporaryFile(  # closed by close(), or by the SpooledUpload
            dir=settings.EVIDENCE_SPOOL_DIR, prefix=SPOOL_PREFIX, suffix=".part"
        )
        self.hasher = hashlib.sha256()
        self.size = 0
        self.head = bytearray()
        self.tenant_id = tenant_id
        self.part_size = None if tenant_id is None else streamed_part_size()
        self.remote: StreamedUpload | None = None
        self.sniffed_type: str | None = None  # once the first part is sent

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_size:
            self.close()
            raise too_large_error(self.max_size)
        self.hasher.update(data)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        self.file.write(data)
        if self.part_size is not None and self.size - self._queued() > self.part_size:
            self.file.flush()  # the part's bytes on disk, where a sending thread reads them
            if self.remote is None:
                self.sniffed_type = sniff_type(bytes(self.head))
                self.remote = StreamedUpload(
                    key=evidence_streamed_key(tenant_id=self.tenant_id),
                    path=self.file.name,
                    content_type=self.sniffed_type,
                )
            self.remote.send_full_parts(spooled=self.size)
        if self.remote is not None:
            self.remote.raise_failure()

    def _queued(self) -> int:
        return 0 if self.remote is None else self.remote.queued

    def finish(self, *, name: str) -> SpooledUpload:
        self.file.flush()
        self.file.seek(0)
        if self.remote is not None:
            self.remote.send_rest(spooled=self.size)
        return SpooledUpload(
            file=self.file,
            name=name,
            size=self.size,
            sha256=self.hasher.hexdigest(),
            head=bytes(self.head),
            remote=self.remote,
            sniffed_type=self.sniffed_type,
        )

    def close(self) -> None:
        """Throw the bytes away (closing a NamedTemporaryFile removes it), and what was sent."""
        if self.remote is not None:
            self.remote.abort()
        self.file.close()


def spool_fileobj(
    fileobj: IO[bytes], *, name: str, max_size: int | None = None, tenant_id: object | None = None
) -> SpooledUpload:
    """Spool a file-like object the way an HTTP upload is spooled (for commands, jobs, imports);
    with `tenant_id`, sent to S3 as it is read."""
    spool = Spool(
        max_size=settings.EVIDENCE_MAX_UPLOAD_BYTES if max_size is None else max_size,
        tenant_id=tenant_id,
    )
    try:
        while chunk := fileobj.read(COPY_CHUNK_SIZE):
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    return spool.finish(name=name)


class EvidenceUploadHandler(FileUploadHandler):
    """Django upload handler for the `file` field of an evidence upload: streams it into a Spool,
    and stops reading at the size limit. Its view sets `tenant_id` once it knows the tenant,
    before the body is read, so that the file goes to S3 as it arrives."""

    # Large enough that the per-chunk Python work is small next to the bytes moved, small enough
    # that the parser's copies of a chunk weigh little beside the parts being sent meanwhile
    # (1 MiB chunks cost the worker ~2 MB more at its peak in bench/evidence.py).
    chunk_size = 256 * 1024

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.max_size = settings.EVIDENCE_MAX_UPLOAD_BYTES
        # Named `file` so that Django's parser closes it when it abandons an upload.
        self.file: Spool | None = None
        self.upload: SpooledUpload | None = None
        self.tenant_id: object | None = None

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
        self.file = Spool(max_size=self.max_size, tenant_id=self.tenant_id)

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


class StreamingUploadMixin(APIView):
    """For every tenant's API view that takes a `file` (evidence, budget and catalog imports):
    the body streams through EvidenceUploadHandler before anything reads it (the size limit
    answers 413 while it arrives; never held in memory; on S3 sent on as it arrives), and
    whatever it spooled or sent is removed once the response is made, unless it was stored."""

    upload_handler: EvidenceUploadHandler | None = None
    tenant: Tenant  # the tenant views' property

    def initialize_request(self, request, *args, **kwargs):
        self.upload_handler = EvidenceUploadHandler(request)
        request.upload_handlers = [self.upload_handler]
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # Authenticated and allowed: the tenant is known before the body is read.
        if self.upload_handler is not None:
            self.upload_handler.tenant_id = self.tenant.pk

    def finalize_response(self, request, response, *args, **kwargs):
        if self.upload_handler is not None:
            self.upload_handler.close()
        return super().finalize_response(request, response, *args, **kwargs)
