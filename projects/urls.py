from django.urls import path

from projects import apis

urlpatterns = [
    path("projects/", apis.ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<uuid:pk>/", apis.ProjectDetailApi.as_view(), name="project-detail"),
    path(
        "projects/<uuid:project_id>/versions/",
        apis.VersionListApi.as_view(),
        name="version-list",
    ),
    path(
        "projects/<uuid:project_id>/versions/<int:number>/",
        apis.VersionDetailApi.as_view(),
        name="version-detail",
    ),
    path(
        "projects/<uuid:project_id>/versions/<int:number>/revert/",
        apis.VersionRevertApi.as_view(),
        name="version-revert",
    ),
    path(
        "projects/<uuid:project_id>/positions/",
        apis.PositionListApi.as_view(),
        name="position-list",
    ),
    path(
        "projects/<uuid:project_id>/positions/<uuid:pk>/",
        apis.PositionDetailApi.as_view(),
        name="position-detail",
    ),
    path("projects/<uuid:project_id>/diff/", apis.DiffApi.as_view(), name="project-diff"),
    path(
        "projects/<uuid:project_id>/imports/", apis.ImportCreateApi.as_view(), name="import-create"
    ),
    path(
        "projects/<uuid:project_id>/comments/",
        apis.CommentListCreateApi.as_view(),
        name="comment-list",
    ),
]
