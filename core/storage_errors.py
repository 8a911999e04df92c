"""Telling a storage outage (S3 not answering, or answering with its own failure) from a bug: the
API answers 503 `storage_unavailable`, a job retries with backoff. What a tenant is shown never
names the endpoint, bucket or key; the log has the details."""

from boto3.exceptions import S3TransferFailedError, S3UploadFailedError
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

STORAGE_UNAVAILABLE_ERRORS = (
    BotoConnectionError,  # refused, connect timeouts
    HTTPClientError,  # read timeouts, dropped connections
    S3UploadFailedError,
    S3TransferFailedError,
)
STORAGE_UNAVAILABLE_MESSAGE = "File storage is unavailable; nothing was stored. Retry later."


def is_storage_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return isinstance(exc, STORAGE_UNAVAILABLE_ERRORS)
