"""Database helpers shared by the apps."""

from django.db.models import QuerySet


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
