"""The baselines of bench/reads.py: what a plain Django + DRF project would serve for the same
rows, each a copy of Kalkula's in a `bench_` table of the same shape (columns, indexes). Lists
are DRF ListAPIViews with CursorPagination over `values()` rows and ModelSerializers; the diff is
a DRF APIView running the same SQL as Kalkula's over the copy. No Kalkula code: its settings are
bench/plain_reads_settings.py, its models are unmanaged (bench/reads.py makes the tables).
"""

import json
from decimal import Decimal

from django.conf import settings
from django.db import connection, models
from django.db.models import F, OuterRef, Subquery
from django.urls import path
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


# The models are unmanaged views of the bench_ tables; no one prints them.
class BenchVersion(models.Model):  # noqa: DJ008
    id = models.UUIDField(primary_key=True)
    number = models.PositiveIntegerField()

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "bench_versions"


class BenchPosition(models.Model):  # noqa: DJ008
    id = models.UUIDField(primary_key=True)
    project_id = models.UUIDField()
    valid_from = models.PositiveIntegerField()
    valid_to = models.PositiveIntegerField(null=True)
    ordinal = models.PositiveBigIntegerField()
    line_key = models.CharField(max_length=512)
    section = models.CharField(max_length=500)
    position_number = models.CharField(max_length=32)
    code = models.CharField(max_length=64)
    description = models.TextField()
    category = models.CharField(max_length=32)
    unit = models.CharField(max_length=32)
    quantity = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    unit_price = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    total_price = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    kind = models.CharField(max_length=32)
    price_system = models.CharField(max_length=32)
    material_unit_price = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    assembly_unit_price = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    long_text = models.TextField()
    takeoff = models.JSONField()
    audit_status = models.CharField(max_length=16)
    source_line = models.PositiveIntegerField(null=True)

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "bench_positions"


class BenchWaiver(models.Model):  # noqa: DJ008
    id = models.UUIDField(primary_key=True)
    version = models.ForeignKey(BenchVersion, on_delete=models.DO_NOTHING)
    line_key = models.CharField(max_length=512)
    rule = models.CharField(max_length=64)
    withdrawn_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "bench_waivers"


class BenchFinding(models.Model):  # noqa: DJ008
    id = models.UUIDField(primary_key=True)
    project_id = models.UUIDField()
    version = models.ForeignKey(BenchVersion, on_delete=models.DO_NOTHING)
    position_id = models.UUIDField()
    line_key = models.CharField(max_length=512)
    source_line = models.PositiveIntegerField(null=True)
    rule = models.CharField(max_length=64)
    role = models.CharField(max_length=32)
    recommendation = models.CharField(max_length=5)
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    reasoning = models.TextField()
    suggested_fix = models.TextField()
    evidence = models.JSONField()
    catalog_id = models.UUIDField(null=True)
    catalog_item_id = models.UUIDField(null=True)
    catalog_version = models.PositiveIntegerField(null=True)
    report_id = models.UUIDField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "bench_findings"


class BenchApiKey(models.Model):  # noqa: DJ008
    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=32)

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "bench_api_keys"


class BenchEvidence(models.Model):  # noqa: DJ008
    id = models.UUIDField(primary_key=True)
    tenant_id = models.UUIDField()
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=127)
    kind = models.CharField(max_length=20)
    project_id = models.UUIDField(null=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    uploaded_by_key = models.ForeignKey(
        BenchApiKey, null=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    created_at = models.DateTimeField()
    text_status = models.CharField(max_length=10)

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "bench_evidence"


# Positions ----------------------------------------------------------------------------------------
POSITION_FIELDS = (
    "id",
    "line_key",
    "section",
    "position_number",
    "code",
    "description",
    "category",
    "unit",
    "quantity",
    "unit_price",
    "total_price",
    "kind",
    "price_system",
    "material_unit_price",
    "assembly_unit_price",
    "long_text",
    "takeoff",
    "audit_status",
    "source_line",
    "valid_from",
    "valid_to",
)


class PositionSerializer(serializers.ModelSerializer):
    class Meta:
        model = BenchPosition
        fields = list(POSITION_FIELDS)


class Page(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class PositionPage(Page):
    ordering = "ordinal"


class PositionList(ListAPIView):
    serializer_class = PositionSerializer
    pagination_class = PositionPage

    def get_queryset(self):
        return BenchPosition.objects.filter(
            project_id=self.kwargs["project_id"], valid_to__isnull=True
        ).values(*POSITION_FIELDS, "ordinal")


# Findings -----------------------------------------------------------------------------------------
class FindingSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version__number")
    position = serializers.UUIDField(source="position_id")
    catalog = serializers.UUIDField(source="catalog_id", allow_null=True)
    catalog_item = serializers.UUIDField(source="catalog_item_id", allow_null=True)
    report = serializers.UUIDField(source="report_id", allow_null=True)
    waived = serializers.SerializerMethodField()
    waiver = serializers.UUIDField(source="waiver_id", allow_null=True)

    class Meta:
        model = BenchFinding
        fields = [
            "id",
            "version",
            "position",
            "line_key",
            "source_line",
            "rule",
            "role",
            "recommendation",
            "confidence",
            "reasoning",
            "suggested_fix",
            "evidence",
            "catalog",
            "catalog_item",
            "catalog_version",
            "report",
            "waived",
            "waiver",
            "created_at",
        ]

    def get_waived(self, row: dict) -> bool:
        return row["waiver_id"] is not None


class FindingPage(Page):
    ordering = ("line_key", "rule", "id")


class FindingList(ListAPIView):
    serializer_class = FindingSerializer
    pagination_class = FindingPage

    def get_queryset(self):
        active_waiver = BenchWaiver.objects.filter(
            version=OuterRef("version"),
            line_key=OuterRef("line_key"),
            rule=OuterRef("rule"),
            withdrawn_at__isnull=True,
        ).values("id")[:1]
        version = BenchVersion.objects.filter(number=self.request.query_params["version"])
        return (
            BenchFinding.objects.filter(
                project_id=self.kwargs["project_id"], version=Subquery(version.values("id"))
            )
            .annotate(waiver_id=Subquery(active_waiver))
            .values(
                "id",
                "version__number",
                "position_id",
                "line_key",
                "source_line",
                "rule",
                "role",
                "recommendation",
                "confidence",
                "reasoning",
                "suggested_fix",
                "evidence",
                "catalog_id",
                "catalog_item_id",
                "catalog_version",
                "report_id",
                "waiver_id",
                "created_at",
            )
        )


# Evidence -----------------------------------------------------------------------------------------
class EvidenceSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id", allow_null=True)
    uploaded_by = serializers.SerializerMethodField()
    uploaded_by_key = serializers.UUIDField(source="uploaded_by_key_id", allow_null=True)

    def get_uploaded_by(self, row: dict) -> str | None:
        if row["uploader"] is not None:
            return row["uploader"]
        if row["key_name"] is not None:
            return f"API key {row['key_name']} ({row['key_prefix']})"
        return None

    class Meta:
        model = BenchEvidence
        fields = [
            "id",
            "name",
            "sha256",
            "size",
            "content_type",
            "kind",
            "project",
            "uploaded_by",
            "uploaded_by_key",
            "created_at",
            "text_status",
        ]


class EvidencePage(Page):
    ordering = "-created_at"


class EvidenceList(ListAPIView):
    serializer_class = EvidenceSerializer
    pagination_class = EvidencePage

    def get_queryset(self):
        # The tenant's documents, as Kalkula lists them: the index on (tenant, -created_at) serves.
        tenant = self.request.query_params["tenant"]
        return BenchEvidence.objects.filter(tenant_id=tenant).values(
            "id",
            "name",
            "sha256",
            "size",
            "content_type",
            "kind",
            "project_id",
            "created_at",
            "text_status",
            "uploaded_by_key_id",
            uploader=F("uploaded_by__username"),
            key_name=F("uploaded_by_key__name"),
            key_prefix=F("uploaded_by_key__prefix"),
        )


# Diff ---------------------------------------------------------------------------------------------
CONTENT = (
    "section",
    "position_number",
    "code",
    "description",
    "category",
    "unit",
    "kind",
    "price_system",
    "long_text",
    "takeoff",
    "material_unit_price",
    "assembly_unit_price",
    "quantity",
    "unit_price",
    "total_price",
)
COLUMNS = ("id", "line_key", "ordinal", *CONTENT)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM bench_positions WHERE project_id = %s "
CLOSED = _SELECT + "AND valid_to > %s AND valid_to <= %s AND valid_from <= %s"
OPENED = (
    _SELECT + "AND valid_from > %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)"
)
DIFFERS = " OR ".join(f"o.{f} IS DISTINCT FROM n.{f}" for f in CONTENT)
JOINED = "old_rows o FULL OUTER JOIN new_rows n ON o.line_key = n.line_key"
KINDS = {
    "added": "o.id IS NULL",
    "removed": "n.id IS NULL",
    "modified": f"o.id IS NOT NULL AND n.id IS NOT NULL AND ({DIFFERS})",
}
CENTS = "COALESCE(SUM(CASE WHEN {s}.kind IN ('alternative', 'contingency_without_total') THEN NULL ELSE ROUND({s}.total_price * 100) END), 0)"  # noqa: E501
COUNTS = (
    "SELECT "
    + ", ".join(f"COUNT(*) FILTER (WHERE {condition})" for condition in KINDS.values())
    + f", {CENTS.format(s='n')}, {CENTS.format(s='o')} FROM {JOINED}"
)
ENTRIES = {
    kind: f"SELECT {', '.join(f'o.{c}' for c in COLUMNS)}, {', '.join(f'n.{c}' for c in COLUMNS)} "
    f"FROM {JOINED} WHERE {condition} ORDER BY COALESCE(n.ordinal, o.ordinal) LIMIT %s"
    for kind, condition in KINDS.items()
}


def shown(value):
    return str(value) if isinstance(value, Decimal) else value


class Diff(APIView):
    def get(self, request: Request, project_id: str) -> Response:
        lo, hi = int(request.query_params["from"]), int(request.query_params["to"])
        limit = int(request.query_params.get("limit", 1000))
        closed, opened = (CLOSED, [project_id, lo, hi, lo]), (OPENED, [project_id, lo, hi, hi])

        def query(select: str, params: list) -> tuple[str, list]:
            sql = f"WITH old_rows AS ({closed[0]}), new_rows AS ({opened[0]}) {select}"
            return sql, [*closed[1], *opened[1], *params]

        answer: dict = {"from": lo, "to": hi}
        with connection.cursor() as cursor:
            cursor.execute(*query(COUNTS, []))
            added, removed, modified, new_cents, old_cents = cursor.fetchone()
            answer["counts"] = {"added": added, "removed": removed, "modified": modified}
            answer["delta_cost"] = str((Decimal(new_cents) - Decimal(old_cents)) / 100)
            width = len(COLUMNS)
            for kind in KINDS:
                cursor.execute(*query(ENTRIES[kind], [limit]))
                entries = []
                for row in cursor.fetchall():
                    old = dict(zip(COLUMNS, row[:width], strict=True))
                    new = dict(zip(COLUMNS, row[width:], strict=True))
                    for side in (old, new):  # jsonb comes as text through Django's connection
                        if isinstance(side["takeoff"], str):
                            side["takeoff"] = json.loads(side["takeoff"])
                    if kind == "modified":
                        changes = {
                            name: {"from": shown(old[name]), "to": shown(new[name])}
                            for name in CONTENT
                            if old[name] != new[name]
                        }
                        entries.append(
                            {
                                "line_key": new["line_key"],
                                "position_number": new["position_number"],
                                "from_id": str(old["id"]),
                                "to_id": str(new["id"]),
                                "changes": changes,
                            }
                        )
                    else:
                        side = new if kind == "added" else old
                        entries.append(
                            {
                                "id": str(side["id"]),
                                "line_key": side["line_key"],
                                **{name: shown(side[name]) for name in CONTENT},
                            }
                        )
                answer[kind] = entries
        answer["truncated"] = any(answer["counts"][kind] > limit for kind in KINDS)
        return Response(answer)


urlpatterns = [
    path("plain/projects/<uuid:project_id>/positions/", PositionList.as_view()),
    path("plain/projects/<uuid:project_id>/findings/", FindingList.as_view()),
    path("plain/projects/<uuid:project_id>/diff/", Diff.as_view()),
    path("plain/evidence/", EvidenceList.as_view()),
]
