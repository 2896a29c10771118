from django.urls import path

from apps.conversations import views

app_name = "conversations"

urlpatterns = [
    path("chat/", views.chat_page, name="chat"),
    path("chat/embed/", views.chat_embed, name="chat-embed"),
    path("chat/widget-demo/", views.widget_demo, name="widget-demo"),
]
