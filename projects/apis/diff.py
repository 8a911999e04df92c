"""The diff of two versions."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import DB_INTEGER_MAX, StrictIntegerField
from projects import selectors
from projects.apis.common import ProjectScopedApi
from projects.rows import CONTENT_FIELDS, plain_text

DIFF_DEFAULT_LIMIT = 1000
DIFF_MAX_LIMIT = 10_000


def _position_entry(row: dict) -> dict:
    return {
        "id": str(row["id"]),
        "line_key": row["line_key"],
        **{name: _shown(name, row[name]) for name in CONTENT_FIELDS},
    }


def _shown(name: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain_text(value, min_places=0 if name == "quantity" else 2)
    return value


VERSION_NUMBER = {"type": "integer", "minimum": 1, "maximum": DB_INTEGER_MAX}


class DiffApi(ProjectScopedApi):
    class FilterSerializer(serializers.Serializer):
        from_ = StrictIntegerField(min_value=1)
        to = StrictIntegerField(min_value=1)
        kind = serializers.MultipleChoiceField(
            choices=selectors.DIFF_KINDS, required=False, help_text="Entries of these kinds only."
        )
        limit = StrictIntegerField(
            min_value=0, max_value=DIFF_MAX_LIMIT, default=DIFF_DEFAULT_LIMIT
        )

        def get_fields(self) -> dict:
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")  # `from` is a Python keyword
            return fields

    @extend_schema(
        parameters=[
            OpenApiParameter("from", VERSION_NUMBER, required=True),
            OpenApiParameter("to", VERSION_NUMBER, required=True),
            OpenApiParameter("kind", str, many=True, enum=list(selectors.DIFF_KINDS)),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 0, "maximum": DIFF_MAX_LIMIT},
                description="Entries per kind (counts are exact).",
            ),
        ],
        responses=inline_serializer(
            "Diff",
            fields={
                "from": serializers.IntegerField(),
                "to": serializers.IntegerField(),
                "counts": serializers.DictField(child=serializers.IntegerField()),
                "delta_cost": serializers.CharField(),
                "added": serializers.ListField(child=serializers.DictField()),
                "removed": serializers.ListField(child=serializers.DictField()),
                "modified": serializers.ListField(child=serializers.DictField()),
                "truncated": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request: Request, project_id: str) -> Response:
        """Added, removed and modified positions between two versions, with field-level changes
        and the delta cost."""
        project = self.project(project_id)
        query = request.query_params.copy()
        if "kind" in query:
            query.setlist("kind", [k for v in query.getlist("kind") for k in v.split(",") if k])
        filters = self.FilterSerializer(data=query)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        wanted = data.get("kind") or set(selectors.DIFF_KINDS)
        diff = selectors.version_diff(
            tenant=self.tenant,
            project=project,
            from_number=data["from"],
            to_number=data["to"],
            kinds=tuple(kind for kind in selectors.DIFF_KINDS if kind in wanted),
            limit=data["limit"],
        )
        return Response(
            {
                "from": diff.from_number,
                "to": diff.to_number,
                "counts": {
                    "added": diff.added_count,
                    "removed": diff.removed_count,
                    "modified": diff.modified_count,
                },
                "delta_cost": str(diff.delta_cost),
                "added": [_position_entry(row) for row in diff.entries["added"]],
                "removed": [_position_entry(row) for row in diff.entries["removed"]],
                "modified": [
                    {
                        "line_key": entry["line_key"],
                        "position_number": entry["position_number"],
                        "from_id": str(entry["from_id"]),
                        "to_id": str(entry["to_id"]),
                        "changes": {
                            name: {
                                "from": _shown(name, change["from"]),
                                "to": _shown(name, change["to"]),
                            }
                            for name, change in entry["changes"].items()
                        },
                    }
                    for entry in diff.entries["modified"]
                ],
                "truncated": diff.truncated,
            }
        )
