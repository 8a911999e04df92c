"""Job kinds by name. Each app registers its handlers in a `handlers` module:

    @job_kind("import_budget", exclusive=True)
    def import_budget(job: Job, progress: Progress) -> dict: ...

A handler is idempotent: its writes are one transaction, so a redelivered job either finds its work
committed or redoes it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from core.errors import ApiError
from jobs.errors import JobInputError

if TYPE_CHECKING:
    from jobs.models import Job
    from jobs.progress import Progress

Handler = Callable[["Job", "Progress"], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    queue: str
    # May be started with POST /api/v1/jobs/ (domain kinds start from their own endpoints).
    direct: bool
    # Only one job of an exclusive kind runs per project at a time (imports, audits).
    exclusive: bool
    # Validates `input` when the kind is started directly.
    input_serializer: type[serializers.Serializer] | None

    def validate_input(self, data: Any) -> dict[str, Any]:
        """The input as the kind's serializer cleans it (defaults filled in); raises
        `serializers.ValidationError` naming the fields."""
        if self.input_serializer is None:
            if not isinstance(data, dict):
                raise serializers.ValidationError("Expected a JSON object.")
            return data
        options = self.input_serializer(data=data)
        options.is_valid(raise_exception=True)
        return dict(options.validated_data)


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    queue: str = "default",
    direct: bool = False,
    exclusive: bool = False,
    input_serializer: type[serializers.Serializer] | None = None,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in _KINDS and _KINDS[name].handler is not handler:
            raise RuntimeError(f"job kind {name!r} is registered twice")
        _KINDS[name] = JobKind(name, handler, queue, direct, exclusive, input_serializer)
        return handler

    return register


def get_job_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ApiError(
            code="unknown_job_kind",
            message=f"Unknown job kind {name!r}; one of {sorted(_KINDS)}.",
        ) from None


def job_kinds() -> list[JobKind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.name)


def job_input(job: "Job", serializer_class: type[serializers.Serializer], *, what: str) -> dict:
    """The job's input as `serializer_class` cleans it; otherwise a JobInputError naming the bad
    fields (the job fails at once: a retry would not make the input right)."""
    payload = serializer_class(data=job.input)
    if not payload.is_valid():
        raise JobInputError("invalid_input", f"The {what}'s input is invalid.", payload.errors)
    return payload.validated_data
