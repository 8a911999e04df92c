"""Serializers for the hot list reads."""

from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.relations import PKOnlyObject


# For a serializer whose list view reads `values()` rows (dicts) instead of model instances: the
# same output as DRF's field-by-field `to_representation` (each field's own `to_representation`,
# None for None) without its attribute lookups per field and row, which cost more than the query.
# A row holds each field's `source` with `__` for `.` (`version.number` → `version__number`);
# `row_values()` names them all, with `extra_values` for what the serializer's own methods read.
# Model instances are serialized as DRF does. (Comments, not a docstring: drf-spectacular would
# make a docstring every such serializer's description in the schema.)
class RowsSerializerMixin:
    extra_values: ClassVar[tuple[str, ...]] = ()
    _row_plan: ClassVar[list[tuple[str, str | None, Any]] | None] = None

    @classmethod
    def row_values(cls) -> list[str]:
        """The keys `values()` must give for `to_representation` to read rows."""
        return [key for _, key, _ in cls._plan() if key is not None] + list(cls.extra_values)

    @classmethod
    def _plan(cls) -> list[tuple[str, str | None, Any]]:
        """(output name, row key, how to show the value) per field, once per class: a field's
        representation depends on its declaration only. A method field has no row key and is
        shown by its method's name; it reads the row itself."""
        plan = cls.__dict__.get("_row_plan")
        if plan is None:
            plan = []
            for field in cls()._readable_fields:  # type: ignore[attr-defined]  # a Serializer
                if isinstance(field, serializers.SerializerMethodField):
                    plan.append((field.field_name, None, field.method_name))
                elif isinstance(field, serializers.PrimaryKeyRelatedField):
                    # A row holds the key itself, where DRF hands the field a PKOnlyObject.
                    def show(value: Any, field: Any = field) -> Any:
                        return field.to_representation(PKOnlyObject(pk=value))

                    plan.append((field.field_name, field.source, show))
                elif isinstance(field, serializers.RelatedField | serializers.BaseSerializer):
                    raise TypeError(f"{cls.__name__}.{field.field_name}: not readable from rows")
                elif field.source == "*":
                    raise TypeError(f"{cls.__name__}.{field.field_name}: not readable from rows")
                else:
                    key = field.source.replace(".", "__")
                    plan.append((field.field_name, key, field.to_representation))
            cls._row_plan = plan
        return plan

    def to_representation(self, instance: Any) -> dict:
        if not isinstance(instance, dict):
            return super().to_representation(instance)  # type: ignore[misc]  # a Serializer
        data = {}
        for name, key, show in self._plan():
            if key is None:
                data[name] = getattr(self, show)(instance)
            else:
                value = instance[key]
                data[name] = None if value is None else show(value)
        return data


def query_filters(serializer_class: type[serializers.Serializer], params: Any) -> dict[str, Any]:
    """The validated filters of a list's query (a 400 naming what is wrong), as
    `serializer_class(data=params)` gives them; at no cost when the query names none of them (a
    list's pages, mostly): DRF copies every declared field of a serializer it instantiates.
    Only for serializers whose fields have no defaults, which would be in the data regardless."""
    declared = serializer_class._declared_fields
    if not any(name in params for name in declared) and all(
        field.default is empty for field in declared.values()
    ):
        return {}
    filters = serializer_class(data=params)
    filters.is_valid(raise_exception=True)
    return dict(filters.validated_data)
