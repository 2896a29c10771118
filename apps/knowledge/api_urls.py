from django.urls import path

from apps.knowledge import api

urlpatterns = [
    path("documents/", api.DocumentListAPI.as_view(), name="api-knowledge-documents"),
    path("documents/<int:pk>/", api.DocumentDetailAPI.as_view(), name="api-knowledge-document"),
    path("sync/", api.SyncAPI.as_view(), name="api-knowledge-sync"),
    path("gaps/", api.GapsAPI.as_view(), name="api-knowledge-gaps"),
]
