"""Price catalogs: list, read, import an edition (a job), list editions, browse any edition's
items, diff two editions."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from catalogs import selectors
from catalogs.models import CatalogEdition, CatalogItem, PriceCatalog
from catalogs.services import catalog_import_start
from core.fields import (
    ChoiceOfFieldsSerializer,
    StrictUUIDField,
    UploadField,
    body,
    is_form,
    text_field,
)
from core.pagination import CursorPage
from evidence.uploads import StreamingUploadMixin
from jobs.apis import JobOutputSerializer
from projects.apis.common import PlainDecimalField
from tenants.context import actor_label
from tenants.models import Role
from tenants.ratelimit import JOBS
from tenants.scoping import TenantAPIView


class CatalogOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceCatalog
        fields = [
            "id",
            "name",
            "currency",
            "version",
            "item_count",
            "source",
            "created_at",
            "updated_at",
        ]


class CatalogItemOutputSerializer(serializers.ModelSerializer):
    unit_price = PlainDecimalField(min_places=2)

    class Meta:
        model = CatalogItem
        fields = ["id", "code", "description", "unit", "unit_price", "changed_in_version"]


class EditionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CatalogEdition
        fields = ["id", "catalog", "number", "name", "item_count", "source", "created_at"]


class EditionRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField()
    name = serializers.CharField()


class DiffEntrySerializer(serializers.Serializer):
    code = serializers.CharField()
    change = serializers.ChoiceField(choices=selectors.DIFF_CHANGES)
    old_description = serializers.CharField(allow_null=True)
    new_description = serializers.CharField(allow_null=True)
    old_unit = serializers.CharField(allow_null=True)
    new_unit = serializers.CharField(allow_null=True)
    old_unit_price = PlainDecimalField(min_places=2, allow_null=True)
    new_unit_price = PlainDecimalField(min_places=2, allow_null=True)

    def to_representation(self, instance: dict) -> dict:
        return super().to_representation({**instance, "change": selectors.diff_change(instance)})


class CatalogPage(CursorPage):
    ordering = "name"  # unique per tenant


class CatalogItemPage(CursorPage):
    ordering = "code"  # unique per edition


class EditionPage(CursorPage):
    ordering = "-number"  # unique per catalog


class CatalogListCreateApi(StreamingUploadMixin, TenantAPIView):
    """Everyone reads catalogs; importing one is for admins and owners."""

    pagination_class = CatalogPage
    write_role = Role.ADMIN
    write_bucket = JOBS

    # A form uploads the file; a JSON body names a document the tenant keeps instead.
    class InputSerializer(ChoiceOfFieldsSerializer):
        one_of = (("file",), ("evidence",))
        one_of_message = "Send either a file or an evidence id."
        never_together = ((("catalog", "name"), "Name the catalog by id or by name, not both."),)

        file = UploadField(
            required=False,
            allow_empty_file=True,
            help_text="The catalog: CSV or XLSX with code, description, unit, unit price; or "
            "the OTSKP catalog's XML.",
        )
        evidence = StrictUUIDField(
            required=False, help_text="Or the id of a document the tenant keeps already."
        )
        catalog = StrictUUIDField(
            required=False, help_text="Update this catalog (its next edition)."
        )
        name = text_field(
            required=False,
            max_length=200,
            help_text="Or the catalog's name: updated when it exists, created otherwise "
            "(default: the file's name).",
        )
        edition = text_field(
            required=False,
            max_length=100,
            help_text="The new edition's name as budgets name its price system, e.g. "
            "`ÚRS 2026 01` (default: as an OTSKP file states it, else `<catalog> v<n>`).",
        )

    @extend_schema_serializer(component_name="CatalogUpload")
    class FormInputSerializer(InputSerializer):
        evidence = None  # type: ignore[assignment]

    @extend_schema_serializer(component_name="CatalogImportFromEvidence")
    class JsonInputSerializer(InputSerializer):
        file = None  # type: ignore[assignment]

    @extend_schema(operation_id="catalogs_list", responses=CatalogOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.catalog_list(tenant=self.tenant), request, view=self
        )
        return paginator.get_paginated_response(CatalogOutputSerializer(page, many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": FormInputSerializer,
            "application/json": JsonInputSerializer,
        },
        responses={
            202: JobOutputSerializer,
            404: OpenApiResponse(
                OpenApiTypes.OBJECT, description="No such evidence or catalog in this tenant"
            ),
        },
        description="Starts an `import_catalog` job; its result names the catalog and version.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.FormInputSerializer if is_form(request) else self.JsonInputSerializer
        payload = serializer(data=body(request))
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        upload = data.get("file")
        job = catalog_import_start(
            tenant=self.tenant,
            actor=actor_label(self.tenant_context),
            catalog_id=data.get("catalog"),
            name=data.get("name") or "",
            edition=data.get("edition") or "",
            file=upload,
            filename=upload.name if upload is not None else "",
            evidence_id=data.get("evidence"),
            created_by=self.tenant_context.user,
            created_by_key=self.tenant_context.api_key,
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CatalogDetailApi(TenantAPIView):
    model = PriceCatalog

    @extend_schema(responses=CatalogOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        """One price catalog: its current edition and how many items it has."""
        catalog = selectors.catalog_get(tenant=self.tenant, catalog_id=pk)
        return Response(CatalogOutputSerializer(catalog).data)


class CatalogItemListApi(TenantAPIView):
    pagination_class = CatalogItemPage

    class FilterSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64, required=False, help_text="Code prefix.")
        search = serializers.CharField(
            max_length=200, required=False, help_text="In code or description."
        )
        changed_in_version = serializers.IntegerField(
            min_value=1, required=False, help_text="Items added or changed by this edition."
        )
        edition = serializers.IntegerField(
            min_value=1, required=False, help_text="The edition's number; the newest if omitted."
        )

    @extend_schema(
        operation_id="catalog_items_list",
        parameters=[FilterSerializer],
        responses=CatalogItemOutputSerializer(many=True),
    )
    def get(self, request: Request, catalog_id: str) -> Response:
        """The catalog's items with their reference unit prices (filter by code or text)."""
        catalog = selectors.catalog_get(tenant=self.tenant, catalog_id=catalog_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        options = dict(filters.validated_data)
        number = options.pop("edition", None)
        edition = (
            selectors.edition_get(tenant=self.tenant, catalog=catalog, number=number)
            if number is not None
            else None
        )
        items = selectors.catalog_item_list(
            tenant=self.tenant, catalog=catalog, edition=edition, **options
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(CatalogItemOutputSerializer(page, many=True).data)


class EditionListApi(TenantAPIView):
    pagination_class = EditionPage

    @extend_schema(
        operation_id="catalog_editions_list", responses=EditionOutputSerializer(many=True)
    )
    def get(self, request: Request, catalog_id: str) -> Response:
        """The catalog's editions, newest first: when each was imported and what it changed."""
        catalog = selectors.catalog_get(tenant=self.tenant, catalog_id=catalog_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.edition_list(tenant=self.tenant, catalog=catalog), request, view=self
        )
        return paginator.get_paginated_response(EditionOutputSerializer(page, many=True).data)


class EditionDiffApi(TenantAPIView):
    pagination_class = CatalogItemPage

    class FilterSerializer(serializers.Serializer):
        # `from` is a keyword: the field is declared below under its real name.
        to = serializers.IntegerField(min_value=1, help_text="The newer edition's number.")
        change = serializers.ChoiceField(
            choices=selectors.DIFF_CHANGES, required=False, help_text="Only this kind of change."
        )
        code = serializers.CharField(max_length=64, required=False, help_text="Code prefix.")

        def get_fields(self) -> dict:
            fields = super().get_fields()
            fields["from"] = serializers.IntegerField(
                min_value=1, help_text="The older edition's number."
            )
            return fields

    @extend_schema_serializer(component_name="EditionDiff")
    class OutputSerializer(serializers.Serializer):
        old = EditionRefSerializer(help_text="The edition of `from`.")
        new = EditionRefSerializer(help_text="The edition of `to`.")
        counts = serializers.DictField(
            child=serializers.IntegerField(), help_text="added, removed, changed"
        )
        results = DiffEntrySerializer(many=True)
        next = serializers.CharField(allow_null=True)

    @extend_schema(
        operation_id="catalog_editions_diff",
        parameters=[FilterSerializer],
        responses=OutputSerializer,
        description="Items added, removed or changed (price, unit or description) from one "
        "edition to another, by code, with the old and the new values; cursor-paginated.",
    )
    def get(self, request: Request, catalog_id: str) -> Response:
        catalog = selectors.catalog_get(tenant=self.tenant, catalog_id=catalog_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        old = selectors.edition_get(tenant=self.tenant, catalog=catalog, number=data["from"])
        new = selectors.edition_get(tenant=self.tenant, catalog=catalog, number=data["to"])
        code = data.get("code")
        rows = selectors.edition_diff(
            tenant=self.tenant, old=old, new=new, change=data.get("change"), code=code
        )
        counts = {
            change: selectors.edition_diff(
                tenant=self.tenant, old=old, new=new, change=change, code=code
            ).count()
            for change in selectors.DIFF_CHANGES
        }
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return Response(
            {
                "old": EditionRefSerializer(old).data,
                "new": EditionRefSerializer(new).data,
                "counts": counts,
                "results": DiffEntrySerializer(page, many=True).data,
                "next": paginator.get_next_link(),
            }
        )
