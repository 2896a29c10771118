import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# An app's periodic jobs live in `beat.py`, apart from the tasks its services queue (`tasks.py`), so that
# services and tasks never import each other both ways.
app.autodiscover_tasks(related_name="beat")
# Customer turns are not Celery tasks: the turn workers read them from a Redis stream (apps.agents.turn_worker),
# and they, not this worker, load the models at start (apps.core.warmup).
