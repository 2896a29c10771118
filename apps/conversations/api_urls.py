from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from apps.conversations import api, attachments_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("conversations/", api.ConversationStartAPI.as_view(), name="api-conversation-start"),
    path("conversations/<str:public_id>/", api.ConversationDetailAPI.as_view(), name="api-conversation"),
    path("conversations/<str:public_id>/messages/", api.MessagePostAPI.as_view(), name="api-message-post"),
    path("conversations/<str:public_id>/verify/", api.VerifyAPI.as_view(), name="api-verify"),
    path("conversations/<str:public_id>/feedback/", api.FeedbackAPI.as_view(), name="api-feedback"),
    path("conversations/<str:public_id>/csat/", api.CsatAPI.as_view(), name="api-csat"),
    path(
        "conversations/<str:public_id>/attachments/",
        attachments_api.AttachmentPostAPI.as_view(),
        name="api-attachment-post",
    ),
]
