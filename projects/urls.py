from django.urls import path

from projects.apis import (
    alerts,
    audits,
    catalogs,
    comments,
    diff,
    exports,
    imports,
    positions,
    projects,
    versions,
)

urlpatterns = [
    path("projects/", projects.ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<uuid:pk>/", projects.ProjectDetailApi.as_view(), name="project-detail"),
    path(
        "projects/<uuid:project_id>/versions/",
        versions.VersionListApi.as_view(),
        name="version-list",
    ),
    path(
        "projects/<uuid:project_id>/versions/<int:number>/",
        versions.VersionDetailApi.as_view(),
        name="version-detail",
    ),
    path(
        "projects/<uuid:project_id>/versions/<int:number>/revert/",
        versions.VersionRevertApi.as_view(),
        name="version-revert",
    ),
    path(
        "projects/<uuid:project_id>/positions/",
        positions.PositionListApi.as_view(),
        name="position-list",
    ),
    path(
        "projects/<uuid:project_id>/positions/<uuid:pk>/",
        positions.PositionDetailApi.as_view(),
        name="position-detail",
    ),
    path("projects/<uuid:project_id>/diff/", diff.DiffApi.as_view(), name="project-diff"),
    path(
        "projects/<uuid:project_id>/imports/",
        imports.ImportCreateApi.as_view(),
        name="import-create",
    ),
    path(
        "projects/<uuid:project_id>/comments/",
        comments.CommentListCreateApi.as_view(),
        name="comment-list",
    ),
    path(
        "projects/<uuid:project_id>/exports/",
        exports.ExportCreateApi.as_view(),
        name="export-create",
    ),
    path("catalogs/", catalogs.CatalogListCreateApi.as_view(), name="catalog-list"),
    path("catalogs/<uuid:pk>/", catalogs.CatalogDetailApi.as_view(), name="catalog-detail"),
    path(
        "catalogs/<uuid:catalog_id>/items/",
        catalogs.CatalogItemListApi.as_view(),
        name="catalog-item-list",
    ),
    path("alerts/", alerts.AlertListApi.as_view(), name="alert-list"),
    path(
        "alerts/<uuid:pk>/acknowledge/",
        alerts.AlertAcknowledgeApi.as_view(),
        name="alert-acknowledge",
    ),
    path(
        "projects/<uuid:project_id>/audits/", audits.AuditCreateApi.as_view(), name="audit-create"
    ),
    path(
        "projects/<uuid:project_id>/findings/",
        audits.FindingListApi.as_view(),
        name="finding-list",
    ),
    path(
        "projects/<uuid:project_id>/findings/<uuid:pk>/waive/",
        audits.FindingWaiveApi.as_view(),
        name="finding-waive",
    ),
    path("projects/<uuid:project_id>/waivers/", audits.WaiverListApi.as_view(), name="waiver-list"),
    path(
        "projects/<uuid:project_id>/waivers/<uuid:pk>/withdraw/",
        audits.WaiverWithdrawApi.as_view(),
        name="waiver-withdraw",
    ),
    path("projects/<uuid:project_id>/reports/", audits.ReportListApi.as_view(), name="report-list"),
    path(
        "projects/<uuid:project_id>/reports/verify/",
        audits.ReportVerifyApi.as_view(),
        name="report-verify",
    ),
    path("reports/<uuid:pk>/", audits.ReportDetailApi.as_view(), name="report-detail"),
]
