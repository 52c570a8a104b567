from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class OctclinicConfig(AppConfig):
    name = "octclinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from .celery import ensure_broker_folders

        ensure_broker_folders()
        if not settings.PRODUCTION:
            # whitenoise warns on every request when STATIC_ROOT is missing; in development it serves
            # from the app folders anyway, so an empty folder is all it needs.
            Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
