"""An S3-compatible server for tests and benchmarks, run as a subprocess on a free loopback port.

It is moto's standalone server (the WSGI app `moto_server` runs, served the same way) plus the
one S3 behaviour moto 5.2.5 lacks that Kalkula relies on: moto answers 200 to presigned URLs that
have expired or whose signature was tampered with. S3 refuses them, so this server does too: a
request authenticated in its query string (SigV4 `X-Amz-Signature`) is checked for expiry and
signature exactly as AWS documents, and refused with S3's error codes. Requests signed in the
Authorization header (what boto3 sends) pass straight to moto.

    python -m tests.s3server --port 9000        # serve until interrupted
"""

import argparse
import hashlib
import hmac
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY = "kalkula-test-key"
SECRET_KEY = "kalkula-test-secret"
REGION = "us-east-1"
BUCKET = "kalkula-evidence-test"
MAX_PRESIGNED_EXPIRY = 7 * 24 * 3600


def _uri_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


class PresignedUrlCheck:
    """WSGI middleware refusing expired or forged presigned (query-string SigV4) requests."""

    def __init__(self, app, secrets: dict[str, str]) -> None:
        self.app = app
        self.secrets = secrets

    def __call__(self, environ, start_response):
        params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if any(name == "X-Amz-Signature" for name, _ in params):
            problem = self._problem(environ, params)
            if problem is not None:
                code, message, status = problem
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
                ).encode()
                start_response(
                    status,
                    [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
                )
                return [body]
        return self.app(environ, start_response)

    def _problem(self, environ, params: list[tuple[str, str]]) -> tuple[str, str, str] | None:
        values = dict(params)
        try:
            signed_at = datetime.strptime(values["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=UTC
            )
            expires = int(values["X-Amz-Expires"])
            access_key, *scope = values["X-Amz-Credential"].split("/")
            signed_headers = values["X-Amz-SignedHeaders"].split(";")
            signature = values["X-Amz-Signature"]
        except (KeyError, ValueError):
            return (
                "AuthorizationQueryParametersError",
                "Query-string authentication requires X-Amz-Date, X-Amz-Expires, "
                "X-Amz-Credential, X-Amz-SignedHeaders and X-Amz-Signature.",
                "400 Bad Request",
            )
        if not 1 <= expires <= MAX_PRESIGNED_EXPIRY:
            return (
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be between 1 and 604800 seconds.",
                "400 Bad Request",
            )
        secret = self.secrets.get(access_key)
        if secret is None or len(scope) != 4:
            return (
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                "403 Forbidden",
            )
        if datetime.now(UTC) > signed_at + timedelta(seconds=expires):
            return ("AccessDenied", "Request has expired", "403 Forbidden")

        canonical_query = "&".join(
            f"{_uri_encode(name)}={_uri_encode(value)}"
            for name, value in sorted(params)
            if name != "X-Amz-Signature"
        )
        canonical_headers = ""
        for header in signed_headers:
            value = environ.get("HTTP_" + header.upper().replace("-", "_"), "")
            canonical_headers += f"{header}:{' '.join(value.split())}\n"
        raw_path = environ.get("RAW_URI", environ.get("PATH_INFO", "/")).split("?", 1)[0]
        canonical_request = "\n".join(
            [
                environ["REQUEST_METHOD"],
                raw_path,
                canonical_query,
                canonical_headers,
                ";".join(signed_headers),
                "UNSIGNED-PAYLOAD",
            ]
        )
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                values["X-Amz-Date"],
                "/".join(scope),
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        key = ("AWS4" + secret).encode()
        for part in scope:
            key = _hmac(key, part)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return (
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                "403 Forbidden",
            )
        return None


@dataclass
class S3Server:
    """A running server: its endpoint, bucket and credentials."""

    endpoint_url: str
    process: subprocess.Popen
    bucket: str = BUCKET
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(signature_version="s3v4"),
        )

    def storage(self, bucket: str | None = None) -> dict:
        """The STORAGES entry that points S3Storage at this server (at `bucket`, or the server's
        own), configured as production settings configure it."""
        from config.storages import s3_storage

        return s3_storage(
            bucket=bucket or self.bucket,
            endpoint_url=self.endpoint_url,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
        )

    def new_bucket(self) -> str:
        name = f"kalkula-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_s3_server(*, bucket: str = BUCKET, timeout: float = 30.0) -> S3Server:
    """Start the server in a subprocess, wait until it answers and create `bucket`."""
    from botocore.exceptions import EndpointConnectionError

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.s3server", "--port", str(port), "--parent", str(os.getpid())],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(endpoint_url=f"http://127.0.0.1:{port}", process=process, bucket=bucket)
    client = server.client()
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.create_bucket(Bucket=bucket)
            return server
        except EndpointConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the S3 server did not start on port {port}") from None
            time.sleep(0.1)


def _exit_with_parent(parent: int) -> None:
    """A test run killed before its teardown must not leave the server behind."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, help="exit when this process is gone")
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    if args.parent:
        threading.Thread(target=_exit_with_parent, args=[args.parent], daemon=True).start()

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    app = PresignedUrlCheck(
        DomainDispatcherApplication(create_backend_app), secrets={ACCESS_KEY: SECRET_KEY}
    )
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
