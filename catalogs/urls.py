from django.urls import path

from catalogs.apis import alerts, catalogs

urlpatterns = [
    path("catalogs/", catalogs.CatalogListCreateApi.as_view(), name="catalog-list"),
    path("catalogs/<uuid:pk>/", catalogs.CatalogDetailApi.as_view(), name="catalog-detail"),
    path(
        "catalogs/<uuid:catalog_id>/items/",
        catalogs.CatalogItemListApi.as_view(),
        name="catalog-item-list",
    ),
    path(
        "catalogs/<uuid:catalog_id>/editions/",
        catalogs.EditionListApi.as_view(),
        name="catalog-edition-list",
    ),
    path(
        "catalogs/<uuid:catalog_id>/diff/",
        catalogs.EditionDiffApi.as_view(),
        name="catalog-edition-diff",
    ),
    path("alerts/", alerts.AlertListApi.as_view(), name="alert-list"),
    path(
        "alerts/<uuid:pk>/acknowledge/",
        alerts.AlertAcknowledgeApi.as_view(),
        name="alert-acknowledge",
    ),
]
