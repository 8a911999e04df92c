"""The S3 storage configuration, in one place for settings and for the tests' S3 server."""

from boto3.s3.transfer import TransferConfig
from botocore.config import Config

# Large files go up in 8 MiB parts read from disk by two threads: bench/evidence.py measured them
# as fast as four (or boto3's default of ten) against one S3 endpoint, and every thread costs a
# web worker memory (and the GIL).
TRANSFER_CONFIG = TransferConfig(multipart_chunksize=8 * 1024 * 1024, max_concurrency=2)


def s3_storage(
    *,
    bucket: str,
    endpoint_url: str | None,
    access_key: str | None,
    secret_key: str | None,
    region: str,
    connect_timeout: float = 2,
    read_timeout: float = 4,
    max_attempts: int = 2,
) -> dict:
    """A STORAGES entry for django-storages' S3Storage: private objects, never overwritten,
    links signed for five minutes. Every call has a connect and a read timeout and is retried
    with backoff (`max_attempts` in all; S3 calls are idempotent, and Kalkula's objects are
    content-addressed): a storage server that stops answering costs a request at most about
    max_attempts × (connect + read) seconds, then 503 `storage_unavailable`, well inside
    gunicorn's worker timeout (botocore's defaults, 60 s per read, outlast it)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "access_key": access_key,
            "secret_key": secret_key,
            "region_name": region,
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": 300,
            # SigV4 links (SigV2, botocore's default for presigning in some regions, is retired).
            "signature_version": "s3v4",
            "client_config": Config(
                signature_version="s3v4",
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "max_attempts": max_attempts},
            ),
            "transfer_config": TRANSFER_CONFIG,
        },
    }
