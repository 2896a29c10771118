"""WebSocket routes, one list for the whole project (apps append theirs here)."""

from django.urls import path

from apps.conversations.consumers import ChatConsumer
from apps.support.consumers import ConsoleConsumer

websocket_urlpatterns: list = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    path("ws/console/", ConsoleConsumer.as_asgi()),
]
