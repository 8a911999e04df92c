from django.urls import path

from projects.apis import comments, diff, exports, imports, positions, projects, versions

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
]
