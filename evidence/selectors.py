"""Reads for evidence; every one requires the tenant."""

import re
import uuid
from typing import TypedDict

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core import signing
from django.db import connection
from django.db.models import Q, QuerySet, Sum

from evidence.models import SEARCH_CONFIG, Attachment, Evidence
from projects.models import Project
from tenants.models import Tenant

DOWNLOAD_TOKEN_SALT = "evidence.download"


class EvidenceFilters(TypedDict, total=False):
    project: Project
    kind: str
    q: str
    # The documents attached to this position (a line key) of `project`, or to its findings;
    # with it, `project` names the position's project, not the one documents were uploaded to.
    line_key: str


def evidence_stored_bytes(*, tenant: Tenant) -> int:
    """What the tenant's documents take in storage (each stored object counts once)."""
    return Evidence.objects.for_tenant(tenant).aggregate(total=Sum("size"))["total"] or 0


def _matching(queryset: QuerySet[Evidence], q: str) -> QuerySet[Evidence]:
    """Documents whose name contains `q` or whose text matches it: full-text search over the GIN
    index on PostgreSQL, a substring match elsewhere (SQLite's LIKE folds ASCII case only; its
    REGEXP is Python's, so a case-insensitive regex matches 'Ž' to 'ž' too)."""
    if connection.vendor == "postgresql":
        # The expression must equal the indexed one (migration 0001) for the index to serve; an
        # alias, not an annotation, so that no row's tsvector is computed just to be selected.
        return queryset.alias(text_search=SearchVector("text", config=SEARCH_CONFIG)).filter(
            Q(name__icontains=q)
            | Q(text_search=SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch"))
        )
    literal = re.escape(q)
    return queryset.filter(Q(name__iregex=literal) | Q(text__iregex=literal))


def evidence_list(*, tenant: Tenant, filters: EvidenceFilters | None = None) -> QuerySet[Evidence]:
    filters = filters or {}
    queryset: QuerySet[Evidence] = (
        Evidence.objects.for_tenant(tenant).select_related("uploaded_by").defer("text")
    )
    if filters.get("line_key"):
        # The documents attached to that position, whichever project they were uploaded to.
        attached = Attachment.objects.for_tenant(tenant).filter(line_key=filters["line_key"])
        if "project" in filters:
            attached = attached.filter(project=filters["project"])
        queryset = queryset.filter(pk__in=attached.values("evidence_id"))
    elif "project" in filters:
        queryset = queryset.filter(project=filters["project"])
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    if filters.get("q"):
        queryset = _matching(queryset, filters["q"])
    return queryset


def evidence_get(*, tenant: Tenant, evidence_id: uuid.UUID) -> Evidence | None:
    return (
        Evidence.objects.for_tenant(tenant)
        .select_related("uploaded_by")
        .defer("text")
        .filter(pk=evidence_id)
        .first()
    )


def evidence_from_download_token(*, token: str) -> Evidence | None:
    """The document a signed local download link names, checked against the tenant it was issued
    for. Raises signing.SignatureExpired or signing.BadSignature for links that are not valid."""
    payload = signing.loads(
        token, salt=DOWNLOAD_TOKEN_SALT, max_age=settings.EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS
    )
    try:
        tenant_id, evidence_id = uuid.UUID(payload["tenant"]), uuid.UUID(payload["evidence"])
    except (KeyError, TypeError, ValueError):
        raise signing.BadSignature("malformed download token") from None
    # Scoped to the tenant the link was issued for: (tenant, id), as everywhere.
    return (
        Evidence.objects.filter(tenant_id=tenant_id, pk=evidence_id)
        .only("id", "tenant_id", "key", "name", "size", "content_type")
        .first()
    )
