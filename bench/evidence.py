"""Evidence upload benchmark: a large file through the API against boto3 straight to S3.

Starts the tests' S3 server (moto) and a gunicorn server on config.wsgi (one sync worker, storage
on that S3 server, a throwaway SQLite database), then, in the same run and on the same file:
- uploads it through POST /api/v1/evidence/ (streamed multipart with Content-Length; the server
  spools and hashes it as it arrives and sends its parts to S3 meanwhile, then completes them);
- uploads it with boto3 `upload_file` to the same server with the SAME transfer settings as the
  storage (config.storages.TRANSFER_CONFIG: part size, concurrency);
`--rounds` times each (default 3), interleaved (boto3, API, boto3, API, ...: the S3 server's speed
drifts with the machine's load), and prints the throughput ratio of the medians (target >= 0.9,
issue #21), the gunicorn worker's peak RSS (target < 150 MB), what the uploads left in the
bucket (one object per document, no unfinished multipart upload), the load average, and hashing
rates (verify's streamed re-hash, and the upload spool, which also writes the copy, next to a bare
loop that hashes and writes a copy) against plain hashlib over the same file, each the best of
two runs. The file lives in a temporary directory, removed at the end.

    .venv/bin/python bench/evidence.py              # 500 MB
    .venv/bin/python bench/evidence.py --size-mb 50 --rounds 5
"""

import argparse
import hashlib
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.storages import TRANSFER_CONFIG  # noqa: E402 - needs ROOT on the path
from tests.s3server import start_s3_server  # noqa: E402
from tests.servers import free_port, manage, wait_for_port  # noqa: E402

PYTHON = sys.executable
MB = 1024 * 1024
CHUNK = MB
RSS_TARGET_MB = 150
RATIO_TARGET = 0.9


def make_file(path: Path, size: int) -> None:
    """Text lines of random hex (sniffed as text/plain, an allowed type), `size` bytes."""
    line_bytes = 64 * 1024
    with path.open("wb") as out:
        written = 0
        while written < size:
            block = os.urandom(line_bytes // 2).hex().encode()[: line_bytes - 1] + b"\n"
            block = block[: size - written]
            out.write(block)
            written += len(block)
        # On disk before anything is timed: writeback of a fresh file would slow the first run.
        out.flush()
        os.fsync(out.fileno())


class MultipartBody:
    """A multipart/form-data body around a file, read in blocks: never all in memory."""

    def __init__(self, path: Path, boundary: str) -> None:
        self.head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.size = len(self.head) + path.stat().st_size + len(self.tail)
        self.file = path.open("rb")
        self.parts = [self.head, None, self.tail]

    def read(self, size: int = -1) -> bytes:
        while self.parts:
            part = self.parts[0]
            if part is None:
                data = self.file.read(size if size > 0 else CHUNK)
                if data:
                    return data
                self.file.close()
                self.parts.pop(0)
                continue
            self.parts.pop(0)
            return part
        return b""


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def api_upload(port: int, path: Path, key: str) -> tuple[float, int, bytes]:
    """Seconds taken, the status and the answer."""
    started = time.perf_counter()
    headers = {"Authorization": f"Api-Key {key}"}
    boundary = uuid.uuid4().hex
    body = MultipartBody(path, boundary)
    headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    headers["Content-Length"] = str(body.size)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=CHUNK)
    connection.request("POST", "/api/v1/evidence/", body=body, headers=headers)
    response = connection.getresponse()
    answer = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, response.status, answer


def measured_upload(port: int, path: Path, key: str, worker: int) -> tuple[float, int]:
    """(seconds, the worker's peak RSS in kB). The kernel's high-water mark (VmHWM) misses no
    spike; it counts from the worker's start, but the upload is what pushes it up."""
    seconds, status, answer = api_upload(port, path, key)
    if status != 201:
        sys.exit(f"the API answered {status}: {answer[:500]!r}")
    return seconds, rss_kb(worker, "VmHWM")


def boto3_upload(s3, path: Path) -> float:
    """Seconds boto3's `upload_file` takes for the file with the storage's transfer settings."""
    client = s3.client()
    started = time.perf_counter()
    client.upload_file(str(path), s3.bucket, "bench/boto3-upload_file", Config=TRANSFER_CONFIG)
    seconds = time.perf_counter() - started
    client.delete_object(Bucket=s3.bucket, Key="bench/boto3-upload_file")
    return seconds


def leftovers(s3) -> tuple[int, int]:
    """The objects the API uploads stored (one document per tenant) and the multipart uploads
    left unfinished."""
    client = s3.client()
    stored = client.list_objects_v2(Bucket=s3.bucket, Prefix="tenants/").get("KeyCount", 0)
    unfinished = len(client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []))
    return stored, unfinished


def hash_rates(path: Path, workdir: Path) -> tuple[float, float, float, float]:
    """MB/s of plain hashlib over the file; of our streamed re-hash (evidence_verify's loop,
    through the storage adapter on local storage); of a bare loop that hashes and writes a copy
    to disk; and of our upload spool (hash, count, keep the head, write the copy to disk). Each
    the best of two runs: whichever loop first writes the file's size to disk after the uploads
    runs at about half speed (the kernel's page cache on this disk, not the loop)."""
    import django

    os.environ |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "KALKULA_VAR_DIR": str(workdir / "var"),
        "MEDIA_ROOT": str(path.parent),
        "EVIDENCE_SPOOL_DIR": str(workdir / "hash-spool"),
    }
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    django.setup()
    from evidence.storage import iter_object
    from evidence.uploads import Spool

    size = path.stat().st_size

    def rate(work) -> float:
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - started)
        return size / MB / best

    digests = []

    def plain() -> None:
        hasher = hashlib.sha256()
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                hasher.update(chunk)
        digests.append(hasher.hexdigest())

    def streamed() -> None:
        hasher = hashlib.sha256()
        for chunk in iter_object(path.name):
            hasher.update(chunk)
        digests.append(hasher.hexdigest())

    def hashed_copy() -> None:
        hasher = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=workdir) as copy, path.open("rb") as source:
            while chunk := source.read(CHUNK):
                hasher.update(chunk)
                copy.write(chunk)
        digests.append(hasher.hexdigest())

    def spooled() -> None:
        spool = Spool(max_size=size)
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                spool.write(chunk)
        upload = spool.finish(name=path.name)
        digests.append(upload.sha256)
        upload.close()

    rates = rate(plain), rate(streamed), rate(hashed_copy), rate(spooled)
    assert len(set(digests)) == 1
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=500, help="file size (default 500)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="uploads of each kind, interleaved (default 3)"
    )
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds: at least 3 (the figures are medians)")
    size = args.size_mb * MB

    workdir = Path(tempfile.mkdtemp(prefix="kalkula-bench-"))
    s3 = gunicorn = None
    try:
        path = workdir / "bench-evidence.txt"
        print(f"generating {args.size_mb} MB in {workdir} …", flush=True)
        make_file(path, size)

        s3 = start_s3_server()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "REDIS_", "AWS_", "CELERY_", "EVIDENCE_"))
        } | {
            "KALKULA_VAR_DIR": str(workdir / "var"),
            "AWS_STORAGE_BUCKET_NAME": s3.bucket,
            "AWS_S3_ENDPOINT_URL": s3.endpoint_url,
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
            # botocore's default, as the boto3 baseline's client has: moto sends nothing while
            # it completes a multipart upload (2-5 s for 500 MB here), S3 keeps the line alive.
            "AWS_S3_READ_TIMEOUT_SECONDS": "60",
            "EVIDENCE_SPOOL_DIR": str(workdir / "spool"),
            "EVIDENCE_MAX_UPLOAD_BYTES": str(size + MB),
            "LOG_LEVEL": "WARNING",
        }
        manage(env, "migrate", "--noinput", "--verbosity", "0")
        keys = []  # one tenant per API upload, so that none is a duplicate
        for tenant in [f"bench-{n}" for n in range(1, args.rounds + 1)]:
            manage(env, "createtenant", tenant, "--name", tenant, "--plan", "enterprise")
            output = manage(env, "createapikey", tenant, "--name", "bench")
            keys.append(output.strip().splitlines()[-1])

        port = free_port()
        gunicorn = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "600",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port)
        # Warm the worker up as traffic would have before a large upload: an API call (imports,
        # first database connection) and a readiness probe (which connects to storage).
        for path_, headers in (
            ("/api/v1/evidence/", {"Authorization": f"Api-Key {keys[0]}"}),
            ("/readyz", {}),
        ):
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            warm.request("GET", path_, headers=headers)
            assert warm.getresponse().status == 200, path_
            warm.close()
        [worker] = worker_pids(gunicorn.pid)
        idle_rss = rss_kb(worker)

        # Interleaved: this server's speed drifts with the machine's load, so each API upload is
        # measured next to a boto3 one, and the medians are compared.
        load_before = os.getloadavg()
        boto_runs, api_runs = [], []
        for key in keys:
            boto_runs.append(boto3_upload(s3, path))
            api_runs.append(measured_upload(port, path, key, worker)[0])
        peak_rss = rss_kb(worker, "VmHWM")
        stored, unfinished = leftovers(s3)

        plain_rate, streamed_rate, copy_rate, spool_rate = hash_rates(path, workdir)

        api_seconds = statistics.median(api_runs)
        boto_seconds = statistics.median(boto_runs)
        api_rate = args.size_mb / api_seconds
        boto_rate = args.size_mb / boto_seconds
        ratio = api_rate / boto_rate
        ratio_verdict = "ok" if ratio >= RATIO_TARGET else "BELOW TARGET"
        peak_verdict = "ok" if peak_rss / 1024 < RSS_TARGET_MB else "ABOVE TARGET"
        runs = ", ".join(f"{seconds:.2f}" for seconds in api_runs)
        print(f"file                          {args.size_mb} MB (text/plain)")
        print(
            f"API upload (gunicorn)         {api_seconds:6.2f} s  {api_rate:7.1f} MB/s  "
            f"(median of {runs} s)"
        )
        runs = ", ".join(f"{seconds:.2f}" for seconds in boto_runs)
        print(
            f"boto3 upload_file             {boto_seconds:6.2f} s  {boto_rate:7.1f} MB/s  "
            f"(median of {runs} s; {TRANSFER_CONFIG.multipart_chunksize // MB} MiB parts, "
            f"{TRANSFER_CONFIG.max_concurrency} threads, as the storage)"
        )
        print(
            f"throughput ratio API/boto3    {ratio:6.2f}    "
            f"(target >= {RATIO_TARGET}: {ratio_verdict}; medians, interleaved)"
        )
        print(
            f"worker peak RSS               {peak_rss / 1024:6.1f} MB (before the uploads "
            f"{idle_rss / 1024:.1f} MB; target < {RSS_TARGET_MB} MB: {peak_verdict})"
        )
        print(
            f"in the bucket                 {stored} objects for {len(api_runs)} API uploads, "
            f"{unfinished} unfinished multipart uploads (target: {len(api_runs)}, 0)"
        )
        print(f"hashlib sha256                {plain_rate:7.1f} MB/s")
        print(
            f"our streamed re-hash          {streamed_rate:7.1f} MB/s  "
            f"({streamed_rate / plain_rate:.2f} of hashlib; verify_evidence's loop)"
        )
        print(
            f"hashlib + writing a copy      {copy_rate:7.1f} MB/s  "
            f"({copy_rate / plain_rate:.2f} of hashlib; a bare loop, the spool's floor)"
        )
        print(
            f"our upload spool              {spool_rate:7.1f} MB/s  "
            f"({spool_rate / plain_rate:.2f} of hashlib, {spool_rate / copy_rate:.2f} of the "
            "bare loop; it also writes the copy to disk)"
        )
        print(
            f"load average (1, 5, 15 min)   {' '.join(f'{v:.2f}' for v in load_before)} before, "
            f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} after"
        )
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()
        if s3 is not None:
            s3.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
