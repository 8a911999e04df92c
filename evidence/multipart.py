"""Sending an upload to S3 while it is still arriving.

The spool file grows on local disk as the body arrives; each time it holds one more full part
(the storage's `multipart_chunksize`), that part is queued for a multipart upload to a temporary
key and sent by one of `max_concurrency` background threads (the storage's transfer settings, as
boto3's `upload_file` uses them). A thread reads its part from the spool file only when it sends
it, so receiving never waits for S3 and at most `max_concurrency` parts are in memory. When the
body has arrived and passed the checks, the parts are completed into the temporary object, which
is copied server-side to the content-addressed key (known only then) and deleted. Any refusal or
failure aborts the multipart upload: nothing is left in the bucket.
"""

import logging
import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, cast

from django.core.files.storage import default_storage

from evidence.storage import is_s3

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

logger = logging.getLogger(__name__)

# Unfinished uploads live under this prefix; `evidence_purge_abandoned_uploads` clears it.
TEMPORARY_PREFIX = "uploads/"


def streamed_part_size() -> int | None:
    """The size of the parts an upload is sent in while it arrives; None on local storage, where
    a complete spool file is moved into place instead."""
    if not is_s3():
        return None
    return cast("S3Storage", default_storage).transfer_config.multipart_chunksize


class StreamedUpload:
    """A multipart upload to a temporary key, fed part by part from a growing spool file."""

    def __init__(self, *, fileno: int, content_type: str) -> None:
        storage = cast("S3Storage", default_storage)
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.transfer_config = storage.transfer_config
        self.acl = storage.default_acl
        self.part_size: int = self.transfer_config.multipart_chunksize
        self.fileno = fileno
        self.key = f"{TEMPORARY_PREFIX}{uuid.uuid4()}"
        extra = {"ContentType": content_type}
        if self.acl:
            extra["ACL"] = self.acl
        self.upload_id: str | None = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, **extra
        )["UploadId"]
        self.executor = ThreadPoolExecutor(
            max_workers=self.transfer_config.max_concurrency, thread_name_prefix="evidence-upload"
        )
        self.parts: list[Future[dict]] = []
        self.queued = 0  # bytes of the spool file queued as parts
        self.completed = False

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
        # pread leaves the spool file's position to the thread writing it.
        data = os.pread(self.fileno, length, offset)
        assert self.upload_id is not None
        answer = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def raise_failure(self) -> None:
        """Raise the error of a part that failed already (S3 down): the request stops early."""
        for part in self.parts:
            if part.done() and part.exception() is not None:
                raise cast(BaseException, part.exception())

    def store_as(self, name: str, *, content_type: str) -> bool:
        """Complete the upload and copy it to `name` unless an object of that name exists (the
        same bytes: nothing is copied); True when this call created it. The temporary object
        is removed either way."""
        parts = [part.result() for part in self.parts]
        self.executor.shutdown()
        if default_storage.exists(name):
            self.abort()
            return False
        assert self.upload_id is not None
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": parts},
        )
        self.upload_id = None
        try:
            extra = {"ContentType": content_type, "MetadataDirective": "REPLACE"}
            if self.acl:
                extra["ACL"] = self.acl
            # boto3's managed copy: one CopyObject, or parts copied concurrently past the
            # threshold (and past S3's 5 GB limit for one copy), with the transfer settings.
            self.client.copy(
                {"Bucket": self.bucket, "Key": self.key},
                self.bucket,
                name,
                ExtraArgs=extra,
                Config=self.transfer_config,
            )
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=self.key)
            self.completed = True
        return True

    def abort(self) -> None:
        """Stop sending and remove whatever was sent. Never raises: a storage outage leaves the
        multipart upload to `evidence_purge_abandoned_uploads`, and the caller's own error (if
        any) is the one to report."""
        if self.completed:
            return
        self.completed = True
        self.executor.shutdown(cancel_futures=True)
        if self.upload_id is None:
            return
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )
        except Exception:
            logger.warning("could not abort the multipart upload of %s", self.key, exc_info=True)
