"""Building uploads (real multipart bodies, real documents) and looking at what got stored."""

import io
import uuid

from django.conf import settings
from openpyxl import Workbook
from rest_framework.response import Response
from rest_framework.test import APIClient

from evidence.storage import iter_object, iter_stored_objects
from jobs.models import Job
from jobs.services import job_execute
from tenants.models import Tenant

URL = "/api/v1/evidence/"
# The smallest valid PNG: a 1×1 image.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def multipart(
    *, filename: str, content: bytes, fields: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """A multipart/form-data body written byte for byte, so the file name arrives exactly as given
    (Django's test client would strip directories from it first)."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in (fields or {}).items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    body += (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(client: APIClient, content: bytes, name: str = "document.csv", **fields) -> Response:
    body, content_type = multipart(filename=name, content=content, fields=fields)
    return client.post(URL, data=body, content_type=content_type)


def run_extraction_jobs() -> list[Job]:
    """Run the queued text-extraction jobs inline through `job_execute`, the function the Celery
    task calls."""
    jobs = list(Job.objects.filter(kind="extract_evidence_text", status=Job.Status.QUEUED))
    for job in jobs:
        job_execute(job_id=job.id)
        job.refresh_from_db()
    return jobs


def stored_objects(tenant: Tenant) -> list[str]:
    return sorted(stored.name for stored in iter_stored_objects(f"tenants/{tenant.pk}/"))


def stored_bytes(key: str) -> bytes:
    return b"".join(iter_object(key))


def spool_files() -> list[str]:
    spool = settings.EVIDENCE_SPOOL_DIR
    return sorted(path.name for path in spool.iterdir()) if spool.exists() else []


def csv_bytes(marker: str = "") -> bytes:
    """A small CSV budget (libmagic needs a few rows to call it text/csv)."""
    return (
        "code,description,unit,quantity\n"
        f"1,Concrete {marker},m3,12.5\n2,Reinforcing steel,t,3\n3,Formwork,m2,40\n"
    ).encode()


def xlsx_bytes(*rows: list) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Rozpočet"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF showing `text` in Helvetica, with a correct cross-reference table."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out
