from django.contrib import admin
from django.urls import include, path

from apps.conversations.review_views import review_detail
from apps.conversations.views import LogoutView

urlpatterns = [
    path("", include("apps.core.urls")),
    path("admin/", admin.site.urls),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    # The transcript review under a project-wide name other apps link to (the support desk's admin).
    path("review/<uuid:public_id>/", review_detail, name="review_transcript"),
    path("", include("apps.conversations.urls")),
    path("", include("apps.support.urls")),
    path("api/v1/", include("apps.conversations.api_urls")),
    path("api/v1/knowledge/", include("apps.knowledge.api_urls")),
]
