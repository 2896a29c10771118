from django.urls import path
from django.views.generic import RedirectView

from apps.conversations import review_views, views

app_name = "conversations"

urlpatterns = [
    # The address `make run` prints lands customers on the chat, not a 404.
    path("", RedirectView.as_view(pattern_name="conversations:chat"), name="home"),
    path("chat/", views.chat_page, name="chat"),
    path("chat/embed/", views.chat_embed, name="chat-embed"),
    path("chat/widget-demo/", views.widget_demo, name="widget-demo"),
    path("chat/attachments/<uuid:public_id>/", views.attachment_download, name="attachment"),
    path("review/", review_views.review_list, name="review"),
    path("review/<uuid:public_id>/", review_views.review_detail, name="review-detail"),
    path("review/<uuid:public_id>/flag/<int:message_id>/", review_views.review_flag, name="review-flag"),
    path("review/<uuid:public_id>/export.json", review_views.review_export, name="review-export"),
    path("review/<uuid:public_id>/steps/<int:span_id>.json", review_views.review_step, name="review-step"),
]
