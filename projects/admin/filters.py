"""List filters on budget rows (positions, findings, …): by project, version, section and code
group. Each reads only the staff user's tenants' rows, checks its value (a malformed one is
dropped with a message, never a 500), reads its choices once per request, and counts its facets
in one GROUP BY rather than one subquery per choice."""

import uuid
from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Count, QuerySet
from django.db.models.functions import Substr
from django.http import HttpRequest

from projects.models import BudgetVersion, Position, Project
from projects.selectors import valid_in
from tenants.admin import CheckedFilter, grouped_facets, memo, scoped

CODE_GROUP_LENGTH = 3  # ÚRS/KROS codes start with their work class: 131… excavation, 274… footings
FILTER_CHOICES_LIMIT = 200
RECENT_PROJECTS = 20


def selected_project(request: HttpRequest) -> Project | None:
    """The project `?project=` names, if it is a well-formed id of one of the staff user's
    tenants' projects; None otherwise."""

    def find() -> Project | None:
        value = request.GET.get("project")
        try:
            project_id = uuid.UUID(str(value)) if value else None
        except ValueError:
            return None
        if project_id is None:
            return None
        projects = scoped(request, Project.objects.all()).select_related("current_version")
        return projects.filter(pk=project_id).first()

    return memo(request, "project", find)


class ProjectFilter(CheckedFilter):
    title = "project"
    parameter_name = "project"

    def check(self, request: HttpRequest, value: str) -> str | None:
        try:
            uuid.UUID(value)
        except ValueError:
            return "not a project id; showing every project."
        return None

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        def compute() -> list[tuple[str, str]]:
            chosen = selected_project(request)
            projects = scoped(request, Project.objects.all()).only("id", "name")
            if chosen is not None:
                projects = projects.exclude(pk=chosen.pk)
            recent = list(projects.order_by("-created_at")[:RECENT_PROJECTS])
            return [(str(p.pk), p.name) for p in ([chosen] if chosen else []) + recent]

        return memo(request, "project-choices", compute)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(project_id=self.value()) if self.value() else queryset

    def choices(self, changelist: Any) -> Any:
        # No counts: they would group every row of every project the staff user can see.
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "All",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def get_facet_queryset(self, changelist: Any) -> dict[str, int]:
        return {}


class VersionFilter(CheckedFilter):
    """The rows of one version; the current version unless told otherwise."""

    title = "version"
    parameter_name = "version"

    def check(self, request: HttpRequest, value: str) -> str | None:
        if value == "all" or (value.isdigit() and 0 < int(value) < 2**31):
            return None
        return "a version is a number from 1 (or all); showing the current version."

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        def compute() -> list[tuple[str, str]]:
            options = [("all", "All versions' rows")]
            project = selected_project(request)
            if project is not None:
                numbers = BudgetVersion.objects.filter(project=project).values_list(
                    "number", flat=True
                )
                options += [(str(n), f"Version {n}") for n in numbers[:FILTER_CHOICES_LIMIT]]
            return options

        return memo(request, "version-choices", compute)

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Current",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset.filter(valid_to__isnull=True)
        if self.value() == "all":
            return queryset
        try:
            number = int(str(self.value()))
        except ValueError:
            raise IncorrectLookupParameters(f"version: {self.value()!r} is not a number") from None
        return queryset.filter(valid_in(number))

    def get_facet_queryset(self, changelist: Any) -> dict[str, int]:
        return {}  # versions overlap: no counts (choices() shows none)


def _current_rows(request: HttpRequest, project: Project) -> QuerySet[Position]:
    return scoped(request, Position.objects.all()).filter(project=project, valid_to__isnull=True)


class SectionFilter(CheckedFilter):
    title = "section"
    parameter_name = "section"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        def compute() -> list[tuple[str, str]]:
            project = selected_project(request)
            if project is None:
                return []
            sections = (
                _current_rows(request, project)
                .exclude(section="")
                .order_by("section")
                .values_list("section", flat=True)
                .distinct()[:FILTER_CHOICES_LIMIT]
            )
            return [(s, s) for s in sections]

        return memo(request, "section-choices", compute)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(section=self.value()) if self.value() else queryset

    def get_facet_queryset(self, changelist: Any) -> dict[str, int]:
        return grouped_facets(self, changelist, "section")


class CodeGroupFilter(CheckedFilter):
    title = "code group"
    parameter_name = "code"

    def check(self, request: HttpRequest, value: str) -> str | None:
        return None if len(value) <= 64 else "too long for a code."

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        def compute() -> list[tuple[str, str]]:
            project = selected_project(request)
            if project is None:
                return []
            groups = (
                _current_rows(request, project)
                .exclude(code="")
                .annotate(group=Substr("code", 1, CODE_GROUP_LENGTH))
                .order_by("group")
                .values_list("group", flat=True)
                .distinct()[:FILTER_CHOICES_LIMIT]
            )
            return [(g, f"{g}…") for g in groups]

        return memo(request, "code-choices", compute)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(code__startswith=self.value()) if self.value() else queryset

    def get_facet_queryset(self, changelist: Any) -> dict[str, int]:
        rows = changelist.get_queryset(self.request, exclude_parameters=[self.parameter_name])
        counted = dict(
            rows.order_by()
            .annotate(group=Substr("code", 1, CODE_GROUP_LENGTH))
            .values_list("group")
            .annotate(n=Count("pk"))
            .values_list("group", "n")
        )
        return {
            f"{i}__c": counted.get(value, 0) for i, (value, _) in enumerate(self.lookup_choices)
        }
