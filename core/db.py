"""Database helpers shared by the apps."""

from collections.abc import Sequence
from typing import Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState

ModelT = TypeVar("ModelT", bound=Model)


def delete_in_batches(queryset: QuerySet, *, batch_size: int = 5000) -> int:
    """Delete `queryset` in short statements, so a big purge never holds long locks; returns the
    number of rows of the queryset's model deleted."""
    model = queryset.model
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += model.objects.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)


class RowReader(Generic[ModelT]):
    """Model instances from hand-written SELECTs, with values converted as the ORM converts them
    (UUIDs and datetimes on SQLite). For a hot path where compiling an ORM query costs more than
    running it: select `columns(alias)`, then `read(row)` the same slice of the row."""

    def __init__(self, model: type[ModelT]) -> None:
        self.model = model
        self.fields = model._meta.concrete_fields
        self.attnames = [field.attname for field in self.fields]
        self._converters: dict[str, list] = {}

    def columns(self, alias: str) -> str:
        quote = connection.ops.quote_name
        # A concrete field always has a column; the stubs type Field.column for every field.
        return ", ".join(
            f"{alias}.{quote(field.column)}"  # type: ignore[arg-type]
            for field in self.fields
        )

    def read(self, row: Sequence, *, using: str = DEFAULT_DB_ALIAS) -> ModelT:
        converters = self._converters.get(using)
        if converters is None:
            db = connections[using]
            converters = self._converters[using] = []
            for field in self.fields:
                column = field.get_col(self.model._meta.db_table)
                converters.append(
                    (
                        db.ops.get_db_converters(column) + column.get_db_converters(db),
                        column,
                    )
                )
        db = connections[using]
        values = []
        for value, (functions, column) in zip(row, converters, strict=True):
            for function in functions:
                value = function(value, column, db)
            values.append(value)
        return self.model.from_db(using, self.attnames, values)


def shallow_copy(instance: ModelT) -> ModelT:
    """A copy of a loaded instance with the same field values and no cached relations, so that
    what is set on the copy stays off the original. copy.copy() gives the same through pickling's
    __reduce__ at five times the cost, too much for the per-request copies of cached rows."""
    clone = object.__new__(type(instance))
    clone.__dict__.update(instance.__dict__)
    clone._state = ModelState()
    clone._state.db = instance._state.db
    clone._state.adding = instance._state.adding
    return clone
