"""The few things evidence needs from storage that Django's Storage API does not offer alike on
every backend: storing a spooled file without holding it in memory, streamed reads, presigned
links, listings with modification times and abandoned multipart uploads. Everything else goes
through `default_storage` as it is configured."""

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError
from django.core.files.storage import FileSystemStorage, default_storage
from storages.backends.s3 import S3Storage

if TYPE_CHECKING:  # evidence.uploads imports this module
    from evidence.uploads import SpooledUpload

CHUNK_SIZE = 1024 * 1024
# Spool files (uploads in progress) start with this; abandoned ones are purged by it.
SPOOL_PREFIX = "evidence-"


@dataclass(frozen=True)
class StoredObject:
    name: str
    modified_at: datetime


def is_s3() -> bool:
    # default_storage is a lazy proxy that reports the configured backend's class.
    return isinstance(default_storage, S3Storage)


def _s3_storage() -> S3Storage:
    """default_storage, once is_s3() said it is an S3Storage (Storage to the type checker)."""
    return cast(S3Storage, default_storage)


def iter_object(name: str, *, chunk_size: int = CHUNK_SIZE) -> Generator[bytes]:
    """The object's bytes in chunks, never all in memory; FileNotFoundError when it is missing."""
    with default_storage.open(name, "rb") as stored:
        s3_object = getattr(stored, "obj", None)
        if s3_object is None:
            while chunk := stored.read(chunk_size):
                yield chunk
            return
        # S3File would first download the whole object; a GET's body streams.
        try:
            body = s3_object.get()["Body"]
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                raise FileNotFoundError(name) from exc
            raise
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()


def presigned_url(name: str, *, content_disposition: str, content_type: str, expires: int) -> str:
    """A time-limited GET link to the object that answers with the given headers (S3 only)."""
    storage = _s3_storage()
    return storage.url(
        name,
        parameters={
            "ResponseContentDisposition": content_disposition,
            "ResponseContentType": content_type,
        },
        expire=expires,
    )


def iter_stored_objects(prefix: str) -> Iterator[StoredObject]:
    """Every object whose name starts with `prefix` (a folder, ending in '/')."""
    if is_s3():
        s3 = _s3_storage()
        client = s3.connection.meta.client
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=s3.bucket_name, Prefix=prefix
        )
        for page in pages:
            for entry in page.get("Contents", ()):
                yield StoredObject(name=entry["Key"], modified_at=entry["LastModified"])
        return
    storage = default_storage
    assert isinstance(storage, FileSystemStorage), "evidence needs S3Storage or FileSystemStorage"
    root = Path(storage.location)
    for directory, _, files in os.walk(root / prefix):
        for file_name in files:
            path = Path(directory) / file_name
            try:
                modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            except FileNotFoundError:  # removed while we walked
                continue
            yield StoredObject(name=path.relative_to(root).as_posix(), modified_at=modified)


def abort_multipart_uploads(*, prefix: str, started_before: datetime) -> int:
    """Abort S3 multipart uploads under `prefix` that a killed process left unfinished."""
    if not is_s3():
        return 0
    storage = _s3_storage()
    client = storage.connection.meta.client
    aborted = 0
    pages = client.get_paginator("list_multipart_uploads").paginate(
        Bucket=storage.bucket_name, Prefix=prefix
    )
    for page in pages:
        for upload in page.get("Uploads", ()):
            if upload["Initiated"] < started_before:
                client.abort_multipart_upload(
                    Bucket=storage.bucket_name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                aborted += 1
    return aborted


def save_file(name: str, file: "SpooledUpload", *, content_type: str) -> bool:
    """Store a spooled file (one with a `temporary_file_path`) as `name` unless an object of
    that name exists; True when this call created it. Local storage moves the file; S3 gets it
    in parts read from disk."""
    if default_storage.exists(name):
        return False
    if not is_s3():
        saved_as = default_storage.save(name, file)
        if saved_as != name:
            # A concurrent upload of the same bytes stored them first: ours is a spare copy.
            default_storage.delete(saved_as)
            return False
        return True
    storage = _s3_storage()
    extra = {"ContentType": content_type}
    if storage.default_acl:
        extra["ACL"] = storage.default_acl
    # boto3's managed upload from the file's path reads each part from disk as it sends it, with
    # the storage's transfer settings: the same transfer as `upload_file`, nothing held in memory.
    storage.bucket.Object(name).upload_file(
        file.temporary_file_path(), ExtraArgs=extra, Config=storage.transfer_config
    )
    return True
