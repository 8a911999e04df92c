"""The lists that read `values()` rows (core.serializers.RowsSerializerMixin) show each row exactly
as DRF shows the model instance."""

from decimal import Decimal

import pytest
from rest_framework import serializers

from audits.apis import FindingOutputSerializer
from audits.selectors import finding_list
from core.serializers import RowsSerializerMixin
from evidence.apis import EvidenceOutputSerializer
from evidence.models import Evidence
from evidence.selectors import evidence_list
from tests import factories as f


def both_ways(serializer_class, queryset, **instances_only) -> tuple[list, list]:
    """The queryset serialized from instances (DRF's way) and from rows."""
    rows = list(queryset.values(*serializer_class.row_values()))
    instances = list(queryset.select_related(*instances_only.get("select_related", ())))
    by_instance = [serializer_class().to_representation(instance) for instance in instances]
    by_row = [serializer_class().to_representation(row) for row in rows]
    return by_instance, by_row


@pytest.mark.django_db
def test_findings_show_the_same_from_rows(tenant):
    version = f.BudgetVersionFactory(tenant=tenant)
    project = version.project
    for n, rule in enumerate(("cost.deviation", "catalog.unknown", "arithmetic.total")):
        finding = f.FindingFactory(
            tenant=tenant,
            project=project,
            version=version,
            rule=rule,
            confidence=Decimal("0.85"),
            catalog_version=n or None,
            evidence={"reference": "12.50", "n": n},
        )
    f.WaiverFactory(
        tenant=tenant,
        project=project,
        version=version,
        line_key=finding.line_key,
        rule=finding.rule,
    )
    queryset = finding_list(tenant=tenant, project=project, version=version).order_by("rule")
    by_instance, by_row = both_ways(FindingOutputSerializer, queryset, select_related=("version",))
    assert by_row == by_instance
    assert [row["waived"] for row in by_row] == [True, False, False]


@pytest.mark.django_db
def test_documents_show_the_same_from_rows(tenant):
    project = f.ProjectFactory(tenant=tenant)
    api_key, _ = f.make_api_key(tenant=tenant, name="scanner")
    user = f.UserFactory()
    documents = [f.EvidenceFactory(tenant=tenant, project=project) for _ in range(3)]
    documents.append(f.EvidenceFactory(tenant=tenant))
    Evidence.objects.filter(pk=documents[0].pk).update(uploaded_by=user, uploaded_by_key=None)
    Evidence.objects.filter(pk=documents[1].pk).update(uploaded_by=None, uploaded_by_key=api_key)
    Evidence.objects.filter(pk=documents[2].pk).update(uploaded_by=None, uploaded_by_key=None)
    queryset = evidence_list(tenant=tenant).order_by("name")
    by_instance, by_row = both_ways(EvidenceOutputSerializer, queryset)
    assert by_row == by_instance
    assert {row["uploaded_by"] for row in by_row} >= {
        user.get_username(),
        f"API key scanner ({api_key.prefix})",
        None,
    }


def test_a_field_rows_cannot_show_is_refused_when_the_serializer_is_first_used():
    class Nested(RowsSerializerMixin, serializers.Serializer):
        everything = serializers.DictField(source="*")

    with pytest.raises(TypeError, match=r"Nested\.everything"):
        Nested().to_representation({})
