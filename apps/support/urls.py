from django.urls import path

from apps.support.views import console, dashboard

app_name = "support"

urlpatterns = [
    path("console/", console.console, name="console"),
    path("console/queue/", console.console_queue, name="console-queue"),
    path("console/<uuid:public_id>/", console.console, name="console-detail"),
    path("console/<uuid:public_id>/takeover/", console.takeover, name="console-takeover"),
    path("console/<uuid:public_id>/reply/", console.reply, name="console-reply"),
    path("console/<uuid:public_id>/hand-back/", console.hand_back, name="console-hand-back"),
    path("console/<uuid:public_id>/close/", console.close, name="console-close"),
    path("console/<uuid:public_id>/notes/", console.note, name="console-note"),
    path("console/<uuid:public_id>/assign/", console.assign, name="console-assign"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/export.csv", dashboard.dashboard_csv, name="dashboard-csv"),
]
