from django.urls import path

from jobs import apis

urlpatterns = [
    path("jobs/", apis.JobListCreateApi.as_view(), name="job-list"),
    path("jobs/<uuid:pk>/", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<uuid:pk>/events/", apis.JobEventListApi.as_view(), name="job-events"),
    path("jobs/<uuid:pk>/cancel/", apis.JobCancelApi.as_view(), name="job-cancel"),
]
