import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# An app's periodic jobs live in `beat.py`, apart from the tasks its services queue (`tasks.py`), so that
# services and tasks never import each other both ways.
app.autodiscover_tasks(related_name="beat")


class WarmModels(bootsteps.StartStopStep):
    """Load the embedding model and route classifier before the worker takes its first task
    (apps.core.warmup). The worker runs a thread pool (one copy of the models per process), so warming
    the worker process warms every thread; `SWITCHBOARD_WARM_MODELS=0` turns it off."""

    def start(self, worker: object) -> None:
        from django.conf import settings

        if getattr(settings, "SWITCHBOARD_WARM_MODELS", True):
            from apps.core.warmup import warm_models

            warm_models()


app.steps["worker"].add(WarmModels)
