"""The Celery application shared by the web process, workers and beat.

Configuration comes from Django settings (``CELERY_*``), so the broker is Redis when ``REDIS_URL`` is
set and kombu's filesystem transport otherwise (no server needed for ``make run``).
"""

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "octclinic.settings")

app = Celery("octclinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _ensure_broker_spool(**_kwargs) -> None:
    """The filesystem transport fails on a missing folder; create it before the first poll."""
    ensure_broker_folders()


def ensure_broker_folders() -> None:
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
