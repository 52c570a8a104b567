"""OCT Clinic project package: settings, URLs, the Celery app, staff roles, health checks and the demo."""

from .celery import app as celery_app

__all__ = ("celery_app",)
