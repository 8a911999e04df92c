"""What the budget API views share."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import StrictCharField
from projects import selectors
from projects.models import Project
from projects.rows import plain_text
from tenants.scoping import TenantAPIView


# Money travels as a decimal string (never a float), and the schema says so.
@extend_schema_field({"type": "string", "format": "decimal", "example": "1234.50"})
class PlainDecimalField(serializers.Field):
    """A stored number as a string without trailing zeros (money keeps two places)."""

    def __init__(self, *, min_places: int = 0, **kwargs: Any) -> None:
        self.min_places = min_places
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return plain_text(value, min_places=self.min_places)


def money_field(**kwargs: Any) -> PlainDecimalField:
    return PlainDecimalField(min_places=2, **kwargs)


def currency_field(**kwargs: Any) -> StrictCharField:
    """A project's currency as the model validates it (an ISO 4217 code), documented so."""
    model_field = Project._meta.get_field("currency")
    return StrictCharField(
        max_length=model_field.max_length, validators=list(model_field.validators), **kwargs
    )


class ProjectScopedApi(TenantAPIView):
    """A view under /projects/{project_id}/: the project is resolved for the tenant first."""

    def project(self, project_id: str) -> Project:
        return selectors.project_get(tenant=self.tenant, project_id=project_id)
