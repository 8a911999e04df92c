"""Idempotency-Key for POSTs: the same key and request within the TTL get the first answer again.

The key's row is inserted in the same transaction as the request's effect, and its answer is
written before that transaction commits. A second request with the same key therefore blocks on
the row (the unique index on PostgreSQL, the write lock on SQLite) until the first commits, then
finds the answer and replays it: one effect, never a half-answered key. When the first request
fails with a 5xx, its transaction rolls back with the key, and the waiting one proceeds.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from core.db import delete_in_batches
from core.errors import ApiError
from tenants.models import IdempotencyKey, Tenant

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# 1 to 255 visible ASCII characters (the same pattern is in the OpenAPI schema).
KEY_PATTERN = r"^[!-~]{1,255}$"
_VALID_KEY = re.compile(KEY_PATTERN)


def idempotency_key_from(request: Request) -> str | None:
    """The request's Idempotency-Key, None without one; 400 when it is malformed."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _VALID_KEY.match(key):
        raise ApiError(
            code="invalid_idempotency_key",
            message=f"{HEADER} must be 1 to 255 visible ASCII characters.",
        )
    return key


def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, path with query and body. A multipart body is hashed part by part
    from what the view's parsers produced, so an upload is streamed, never held in memory."""
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.get_full_path()}\n".encode())
    if request.content_type.startswith("multipart/"):
        # The form parsers give a QueryDict of fields and files; the stubs type `data` for the
        # JSON parser's answers too.
        data = cast("MultiValueDict[str, Any]", request.data)
        for name in sorted(data.keys()):
            for value in data.getlist(name):
                digest.update(f"\n{name}=".encode())
                if hasattr(value, "chunks"):
                    digest.update(f"file:{value.name}:{value.size}:".encode())
                    for chunk in value.chunks():
                        digest.update(chunk)
                    value.seek(0)
                else:
                    digest.update(str(value).encode())
    else:
        digest.update(request._request.body)
    return digest.hexdigest()


@dataclass(frozen=True)
class Claim:
    """A key this request now holds (`replay` False) or the committed first answer to replay."""

    record: IdempotencyKey
    replay: bool


def idempotency_claim(*, tenant: Tenant, key: str, request_hash: str) -> Claim:
    """Claim `key` for this request, inside the caller's transaction. Blocks while another request
    holds it; then replays its answer, or refuses a different request with 422."""
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    tenant=tenant, key=key, request_hash=request_hash
                )
            return Claim(record=record, replay=False)
        except IntegrityError:
            existing = IdempotencyKey.objects.for_tenant(tenant).filter(key=key).first()
        if existing is None:  # purged between our insert and this read: claim it again
            continue
        if existing.created_at < timezone.now() - settings.IDEMPOTENCY_KEY_TTL:
            IdempotencyKey.objects.filter(pk=existing.pk).delete()
            continue
        if existing.request_hash != request_hash:
            raise ApiError(
                code="idempotency_key_reused",
                message=f"This {HEADER} was used for a different request; use a new key.",
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return Claim(record=existing, replay=True)
    # Only reachable if other requests keep expiring or purging the key under us.
    raise ApiError(
        code="idempotency_in_progress",
        message=f"Another request with this {HEADER} is being handled; retry shortly.",
        status_code=status.HTTP_409_CONFLICT,
    )


def idempotency_answer(*, record: IdempotencyKey, status_code: int, data: object) -> None:
    """Store the answer to replay: the status and the body as the client received it."""
    record.status_code = status_code
    record.response_body = None if data is None else json.loads(JSONRenderer().render(data))
    record.save(update_fields=["status_code", "response_body"])


def idempotency_key_purge_expired(*, now: datetime | None = None) -> int:
    """Delete keys past their TTL; returns how many."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_KEY_TTL
    return delete_in_batches(IdempotencyKey.objects.filter(created_at__lt=cutoff))
