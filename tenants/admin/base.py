"""What every tenant-owned ModelAdmin shares: staff who are not superusers see, filter, search,
look up and count only rows of the tenants they administer; query parameters that do not fit
(a malformed id, a number that is not one, a lookup that is not allowed) give the list with an
error message instead of an error page; read-only pages show no Save button."""

import uuid
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import IGNORED_PARAMS, ORDER_VAR, SEARCH_VAR
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Model, Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.utils.functional import cached_property

from core.errors import ApiError
from tenants.models import Membership, Role, Tenant, TenantOwnedModel

# Query parameters that are never filters: ordering, search, page, popups, facets.
_KEPT_PARAMS = {*IGNORED_PARAMS, ORDER_VAR, SEARCH_VAR}
# How many choices a related filter lists at most (the search box finds the rest).
RELATED_FILTER_LIMIT = 100


def admin_tenant_ids(request: HttpRequest) -> list[Any] | None:
    """Tenants a staff user may manage in the admin; None means all (superusers)."""
    if request.user.is_superuser:
        return None
    cached = getattr(request, "_kalkula_admin_tenant_ids", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(
                user=admin_user(request), role__in=[Role.ADMIN, Role.OWNER]
            ).values_list("tenant_id", flat=True)
        )
        request._kalkula_admin_tenant_ids = cached  # type: ignore[attr-defined]  # per request
    return cached


def admin_tenants(request: HttpRequest) -> QuerySet[Tenant]:
    """The tenants the staff user administers (every tenant for superusers)."""
    tenant_ids = admin_tenant_ids(request)
    tenants = Tenant.objects.all()
    return tenants if tenant_ids is None else tenants.filter(id__in=tenant_ids)


def scoped(request: HttpRequest, queryset: QuerySet) -> QuerySet:
    """`queryset` limited to the staff user's tenants (users: members of them, and themselves)."""
    tenant_ids = admin_tenant_ids(request)
    if tenant_ids is None:
        return queryset
    model = queryset.model
    if model is Tenant:
        return queryset.filter(id__in=tenant_ids)
    if issubclass(model, AbstractBaseUser):
        member_ids = Membership.objects.filter(tenant_id__in=tenant_ids).values("user_id")
        return queryset.filter(Q(pk__in=member_ids) | Q(pk=request.user.pk))
    if issubclass(model, TenantOwnedModel):
        return queryset.filter(tenant_id__in=tenant_ids)
    return queryset


def is_scoped_model(model: type[Model]) -> bool:
    return (
        model is Tenant
        or issubclass(model, TenantOwnedModel)
        or issubclass(model, get_user_model())
    )


def memo(request: HttpRequest, key: str, compute: Any) -> Any:
    """Compute once per request: Django builds the filters again for every facet count."""
    cache = request.__dict__.setdefault("_kalkula_filter_cache", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


class CheckedFilter(admin.SimpleListFilter):
    """A simple filter whose value is checked first: one that does not fit is dropped, with a
    message naming it, and the list is shown without it."""

    def __init__(self, request: HttpRequest, params: dict, model: Any, model_admin: Any) -> None:
        values = params.get(self.parameter_name)
        if values:
            problem = self.check(request, values[-1])
            if problem:
                params.pop(self.parameter_name)
                # Once: Django builds the filters again for each facet count, some of them while
                # the page renders, after its messages are shown.
                memo(
                    request,
                    f"message-{self.parameter_name}",
                    lambda: messages.error(
                        request, f"{self.parameter_name}={values[-1]!r}: {problem}"
                    ),
                )
        super().__init__(request, params, model, model_admin)

    def check(self, request: HttpRequest, value: str) -> str | None:
        """Why `value` does not fit, or None."""
        return None


class TenantFilter(CheckedFilter):
    """The staff user's tenants only (a plain `tenant` filter would list every tenant's slug)."""

    title = "tenant"
    parameter_name = "tenant__id__exact"

    def check(self, request: HttpRequest, value: str) -> str | None:
        try:
            uuid.UUID(value)
        except ValueError:
            return "not a tenant id; showing every tenant."
        return None

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        tenants = admin_tenants(request).only("id", "slug")[:RELATED_FILTER_LIMIT]
        return [(str(tenant.pk), tenant.slug) for tenant in tenants]

    def has_output(self) -> bool:
        return len(self.lookup_choices) > 1

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        return queryset.filter(tenant_id=self.value())

    def get_facet_queryset(self, changelist: Any) -> dict[str, int]:
        return grouped_facets(self, changelist, "tenant_id")


class ScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A foreign key filter whose choices are the staff user's tenants' rows only."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list:
        related = field.related_model._default_manager.all()
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            related = related.order_by(*ordering)
        rows = scoped(request, related)[:RELATED_FILTER_LIMIT]
        return [(row.pk, str(row)) for row in rows]


def grouped_facets(list_filter: Any, changelist: Any, column: str) -> dict[str, int]:
    """Facet counts of a filter in one GROUP BY over the rows the other filters leave, instead of
    Django's one conditional count (a subquery for simple filters) per choice."""
    rows = changelist.get_queryset(
        list_filter.request, exclude_parameters=list_filter.expected_parameters()
    )
    counted = dict(
        rows.order_by().values_list(column).annotate(n=Count("pk")).values_list(column, "n")
    )
    counted = {str(key): value for key, value in counted.items()}
    return {
        f"{i}__c": counted.get(str(value), 0)
        for i, (value, _) in enumerate(list_filter.lookup_choices)
    }


class KnownCountPaginator(Paginator):
    """A paginator told the count (a cached aggregate) instead of counting the rows."""

    def __init__(self, object_list: Any, per_page: int, *, known_count: int, **kwargs: Any):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = known_count

    @cached_property
    def count(self) -> int:
        return self._known_count


class TenantScopedAdmin(admin.ModelAdmin):
    """Staff who are not superusers see and edit only rows of tenants they administer: in the
    list, its filters, its search, counts, related lookups and form choices."""

    # A full COUNT of the unfiltered table on every page is slow on big tables: "Show all" instead.
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped(request, super().get_queryset(request))

    def get_list_filter(self, request: HttpRequest) -> list:
        """`tenant` lists the staff user's tenants only; other foreign keys to tenant data list
        only their tenants' rows."""
        filters = []
        for entry in super().get_list_filter(request):
            if entry == "tenant":
                entry = TenantFilter
            elif isinstance(entry, str) and "__" not in entry:
                field = self.model._meta.get_field(entry)
                if field.is_relation and is_scoped_model(field.related_model):
                    entry = (entry, ScopedRelatedFilter)
            filters.append(entry)
        return filters

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if is_scoped_model(db_field.related_model) and "queryset" not in kwargs:
            kwargs["queryset"] = scoped(request, db_field.related_model._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """The list; when the address carries filters that do not fit, the list without them and
        a message naming them (Django would redirect to `?e=1` or fail with a 500)."""
        try:
            return super().get_changelist_instance(request)
        except (
            IncorrectLookupParameters,
            ValidationError,
            ValueError,
            DisallowedModelAdminLookup,
        ) as exc:
            dropped = sorted(key for key in request.GET if key not in _KEPT_PARAMS)
            if not dropped:
                raise IncorrectLookupParameters(exc) from exc
            messages.error(
                request,
                f"Not a valid filter here: {', '.join(dropped)}. Showing the list without it.",
            )
            kept = QueryDict(mutable=True)
            for key in request.GET:
                if key in _KEPT_PARAMS and key != "p":
                    kept.setlist(key, request.GET.getlist(key))
            request.GET = kept  # type: ignore[assignment]  # the stubs: GET is immutable
            request.__dict__.pop("_kalkula_filter_cache", None)
            return super().get_changelist_instance(request)

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """A save the services refuse (an archived project, a value out of range, a conflict)
        is rolled back and shown as a message on the form's page, never a 500."""
        try:
            return super().changeform_view(request, *args, **kwargs)
        except ApiError as exc:
            messages.error(request, str(exc.detail))
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        if not context.get("has_change_permission", True) or getattr(self, "read_only_form", False):
            context.update(
                show_save=False,
                show_save_and_continue=False,
                show_save_and_add_another=False,
                show_delete=False,
            )
        return super().render_change_form(request, context, *args, **kwargs)


class ReadOnlyAdmin(TenantScopedAdmin):
    """Rows written only by services: staff look, they do not edit."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def admin_user(request: HttpRequest) -> User:
    """The staff user of an admin request: the admin site lets no anonymous user in, but
    HttpRequest types `user` for any view."""
    return cast(User, request.user)
