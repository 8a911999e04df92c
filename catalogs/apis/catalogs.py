"""Price catalogs: list, read, browse items, import an edition (a job)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from catalogs import selectors
from catalogs.models import CatalogItem, PriceCatalog
from catalogs.services import catalog_import_start
from core.pagination import CursorPage
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


class CatalogPage(CursorPage):
    ordering = "name"  # unique per tenant


class CatalogItemPage(CursorPage):
    ordering = "code"  # unique per catalog


class CatalogListCreateApi(TenantAPIView):
    """Everyone reads catalogs; importing one is for admins and owners."""

    pagination_class = CatalogPage
    write_role = Role.ADMIN
    write_bucket = JOBS

    @extend_schema_serializer(component_name="CatalogImport")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            required=False,
            allow_empty_file=True,
            help_text="The catalog: CSV or XLSX with code, description, unit, unit price.",
        )
        evidence = serializers.UUIDField(
            required=False, help_text="Or the id of a document the tenant keeps already."
        )
        catalog = serializers.UUIDField(
            required=False, help_text="Update this catalog (its next edition)."
        )
        name = serializers.CharField(
            required=False,
            max_length=200,
            help_text="Or the catalog's name: updated when it exists, created otherwise "
            "(default: the file's name).",
        )

        def validate(self, data: dict) -> dict:
            if ("file" in data) == ("evidence" in data):
                raise serializers.ValidationError("Send either a file or an evidence id.")
            if "catalog" in data and "name" in data:
                raise serializers.ValidationError("Name the catalog by id or by name, not both.")
            return data

    @extend_schema(operation_id="catalogs_list", responses=CatalogOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.catalog_list(tenant=self.tenant), request, view=self
        )
        return paginator.get_paginated_response(CatalogOutputSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer, "application/json": InputSerializer},
        responses={
            202: JobOutputSerializer,
            404: OpenApiResponse(
                OpenApiTypes.OBJECT, description="No such evidence or catalog in this tenant"
            ),
        },
        description="Starts an `import_catalog` job; its result names the catalog and version.",
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        upload = data.get("file")
        job = catalog_import_start(
            tenant=self.tenant,
            actor=actor_label(self.tenant_context),
            catalog_id=data.get("catalog"),
            name=data.get("name") or "",
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
        items = selectors.catalog_item_list(
            tenant=self.tenant, catalog=catalog, **filters.validated_data
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(CatalogItemOutputSerializer(page, many=True).data)
