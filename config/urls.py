from django.contrib import admin
from django.urls import include, path

from apps.conversations.views import LogoutView

urlpatterns = [
    path("", include("apps.core.urls")),
    path("admin/", admin.site.urls),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("apps.conversations.urls")),
    path("api/v1/", include("apps.conversations.api_urls")),
]
