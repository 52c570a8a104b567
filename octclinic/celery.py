"""The Celery application shared by the web process, workers and beat.

Configuration comes from Django settings (``CELERY_*``), so the broker is Redis when ``REDIS_URL`` is
set and kombu's filesystem transport otherwise (no server needed for ``make run``).

Two queues, two kinds of worker: training and the jobs on model versions (gate, evaluation) go to
``CELERY_TRAINING_QUEUE`` ("training"), consumed only by the training worker (``make run``'s ``worker-training``,
docker-compose's ``worker-training``, which can run on a GPU host); everything else, the AI readings first, goes to
``CELERY_TASK_DEFAULT_QUEUE`` ("celery"), consumed by the ordinary workers. A training run can then never keep a
scan "queued for AI reading".
"""

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "octclinic.settings")

app = Celery("octclinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_route(name, args, kwargs, options, task=None, **kw):
    """Celery router (``CELERY_TASK_ROUTES``): the training queue for training and version jobs, else the default.

    The queue names are read from settings when a task is sent, so a test can point them at queues of its own.
    """
    from django.conf import settings

    from mlcore.tasks import TRAINING_QUEUE_TASKS

    if name in TRAINING_QUEUE_TASKS:
        return {"queue": settings.CELERY_TRAINING_QUEUE}
    if name in getattr(settings, "CELERY_CLASSIFICATION_TASKS", ()):
        return {"queue": settings.CELERY_CLASSIFICATION_QUEUE}
    return None


@worker_init.connect
def _ensure_broker_spool(**_kwargs) -> None:
    """The filesystem transport fails on a missing folder; create it before the first poll."""
    ensure_broker_folders()


def ensure_broker_folders() -> None:
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
