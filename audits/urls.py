from django.urls import path

from audits import apis as audits
from audits import attachments

urlpatterns = [
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
    path(
        "evidence/<uuid:evidence_id>/attachments/",
        attachments.AttachmentListCreateApi.as_view(),
        name="attachment-list",
    ),
    path(
        "evidence/<uuid:evidence_id>/attachments/<uuid:pk>/",
        attachments.AttachmentDetailApi.as_view(),
        name="attachment-detail",
    ),
]
