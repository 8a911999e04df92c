"""The S3 storage configuration, in one place for settings and for the tests' S3 server."""


def s3_storage(
    *,
    bucket: str,
    endpoint_url: str | None,
    access_key: str | None,
    secret_key: str | None,
    region: str,
) -> dict:
    """A STORAGES entry for django-storages' S3Storage: private objects, never overwritten,
    links signed for five minutes."""
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
        },
    }
