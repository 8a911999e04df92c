from django.urls import path

from tenants import apis

urlpatterns = [
    path("me", apis.MeApi.as_view(), name="me"),
    path("api-keys/", apis.ApiKeyListCreateApi.as_view(), name="api-key-list"),
    path("api-keys/<uuid:pk>/", apis.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("request-log/", apis.RequestLogListApi.as_view(), name="request-log"),
    path("invitations/", apis.InvitationCreateApi.as_view(), name="invitations"),
]
