"""Sending an upload to S3 while it is still arriving.

The spool file grows on local disk as the body arrives; each time it holds one more full part
(the storage's `multipart_chunksize`), that part is queued for a multipart upload and sent by one
of `max_concurrency` background threads (the storage's transfer settings, as boto3's
`upload_file` uses them). A thread reads its part from the spool file as it sends it, as
`upload_file` does, so receiving never waits for S3 and memory holds no part.

The object's name is chosen when its first part is sent, before its SHA-256 is known: the
document's own `tenants/<tenant id>/documents/<uuid>` (see `evidence_streamed_key`). Once the
body has arrived and passed every check, the multipart upload is completed into that object: the
bytes cross the network once and are never copied (a server-side copy to a content address
costs, on the test S3 server, about half as long as the upload itself). Any refusal or failure
before that aborts the multipart upload, which leaves nothing in the bucket.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, cast

from django.core.files.storage import default_storage
from s3transfer.utils import ReadFileChunk, set_default_checksum_algorithm

from evidence.storage import is_s3

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

logger = logging.getLogger(__name__)


def streamed_part_size() -> int | None:
    """The size of the parts an upload is sent in while it arrives; None on local storage, where
    a complete spool file is moved into place instead."""
    if not is_s3():
        return None
    return cast("S3Storage", default_storage).transfer_config.multipart_chunksize


class StreamedUpload:
    """A multipart upload to `key`, fed part by part from a growing spool file at `path`."""

    def __init__(self, *, key: str, path: str, content_type: str) -> None:
        storage = cast("S3Storage", default_storage)
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        transfer_config = storage.transfer_config
        self.part_size: int = transfer_config.multipart_chunksize
        self.key = key
        self.path = path
        extra = {"ContentType": content_type}
        if storage.default_acl:
            extra["ACL"] = storage.default_acl
        # Part checksums as `upload_file` asks for them (CRC32 unless the client's config says
        # "when_required"): S3 checks each part and keeps a composite checksum of the object.
        # Asked for none, the tests' S3 server checksummed a second copy of the whole object
        # when completing it (bench/README.md).
        self.checksum: dict[str, str] = {}
        if self.client.meta.config.request_checksum_calculation == "when_supported":
            set_default_checksum_algorithm(self.checksum)
        extra |= self.checksum
        self.upload_id: str | None = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, **extra
        )["UploadId"]
        self.executor = ThreadPoolExecutor(
            max_workers=transfer_config.max_concurrency, thread_name_prefix="evidence-upload"
        )
        self.parts: list[Future[dict]] = []
        self.queued = 0  # bytes of the spool file queued as parts

    def send_full_parts(self, *, spooled: int) -> None:
        """Queue every full part the spool holds beyond what is queued, but never its last bytes:
        a body that ends exactly at a part's end still has a non-empty last part to send."""
        while spooled - self.queued > self.part_size:
            self._queue(self.part_size)

    def send_rest(self, *, spooled: int) -> None:
        """The body is in: queue what remains as the last part."""
        self.send_full_parts(spooled=spooled)
        if spooled > self.queued:
            self._queue(spooled - self.queued)

    def _queue(self, length: int) -> None:
        number = len(self.parts) + 1
        self.parts.append(self.executor.submit(self._send, number, self.queued, length))
        self.queued += length

    def _send(self, number: int, offset: int, length: int) -> dict:
        # Read from disk as it is sent (and re-read if a retry rewinds it), never held whole.
        with ReadFileChunk.from_filename(self.path, offset, length) as body:
            answer = self.client.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=body,
                **self.checksum,
            )
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        if self.checksum:  # completing names each part's checksum, as `upload_file` does
            member = "Checksum" + self.checksum["ChecksumAlgorithm"].upper()
            if member in answer:
                part[member] = answer[member]
        return part

    def raise_failure(self) -> None:
        """Raise the error of a part that failed already (S3 down): the request stops early."""
        for part in self.parts:
            if part.done() and part.exception() is not None:
                raise cast(BaseException, part.exception())

    def complete(self) -> str:
        """Wait for the parts and make them the object; its key."""
        parts = [part.result() for part in self.parts]
        self.executor.shutdown()
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": parts},
        )
        self.upload_id = None
        return self.key

    def abort(self) -> None:
        """Unless completed: stop sending and remove whatever was sent. Never raises: a storage
        outage leaves the multipart upload to `evidence_purge_abandoned_uploads`, and the
        caller's own error, if any, is the one to report."""
        if self.upload_id is None:
            return
        self.executor.shutdown(cancel_futures=True)
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )
        except Exception:
            logger.warning("could not abort the multipart upload of %s", self.key, exc_info=True)
        self.upload_id = None
