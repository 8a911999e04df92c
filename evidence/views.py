"""The target of signed local download links (local storage's stand-in for S3 presigned URLs)."""

from collections.abc import Generator

from django.core import signing
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from core.errors import envelope
from evidence.selectors import evidence_from_download_token
from evidence.storage import iter_object


def _stream(first: bytes, chunks: Generator[bytes]) -> Generator[bytes]:
    # A generator, so that the response closes the storage stream when the client goes away.
    try:
        yield first
        yield from chunks
    finally:
        chunks.close()


@require_safe
def evidence_file(request: HttpRequest, token: str) -> HttpResponseBase:
    """Stream the document a valid, unexpired link names. The link is the credential, as a
    presigned URL is: it names the tenant it was issued for and nobody can forge one."""
    try:
        evidence = evidence_from_download_token(token=token)
    except signing.SignatureExpired:
        return JsonResponse(envelope("link_expired", "This download link has expired."), status=403)
    except signing.BadSignature:
        return JsonResponse(
            envelope("invalid_link", "This download link is not valid."), status=403
        )
    if evidence is None:
        return JsonResponse(envelope("not_found", "Not found."), status=404)
    chunks = iter_object(evidence.key)
    try:
        first = next(chunks, b"")
    except FileNotFoundError:
        return JsonResponse(
            envelope("not_found", "The document is missing from storage."), status=404
        )
    response = StreamingHttpResponse(_stream(first, chunks), content_type=evidence.content_type)
    response["Content-Length"] = str(evidence.size)
    response["Content-Disposition"] = content_disposition_header(True, evidence.name)
    response["Cache-Control"] = "private, no-store"
    return response
