from django.urls import path

from apps.conversations import console_views, review_views, views

app_name = "conversations"

urlpatterns = [
    path("chat/", views.chat_page, name="chat"),
    path("chat/embed/", views.chat_embed, name="chat-embed"),
    path("chat/widget-demo/", views.widget_demo, name="widget-demo"),
    path("chat/attachments/<uuid:public_id>/", views.attachment_download, name="attachment"),
    path("console/", console_views.console, name="console"),
    path("console/queue/", console_views.console_queue, name="console-queue"),
    path("console/<uuid:public_id>/", console_views.console, name="console-detail"),
    path("console/<uuid:public_id>/takeover/", console_views.takeover, name="console-takeover"),
    path("console/<uuid:public_id>/reply/", console_views.reply, name="console-reply"),
    path("console/<uuid:public_id>/hand-back/", console_views.hand_back, name="console-hand-back"),
    path("console/<uuid:public_id>/close/", console_views.close, name="console-close"),
    path("review/", review_views.review_list, name="review"),
    path("review/<uuid:public_id>/", review_views.review_detail, name="review-detail"),
    path("review/<uuid:public_id>/flag/<int:message_id>/", review_views.review_flag, name="review-flag"),
    path("review/<uuid:public_id>/export.json", review_views.review_export, name="review-export"),
]
