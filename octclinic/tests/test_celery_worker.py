"""Background work goes through the real broker to a real worker process (Redis in CI)."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from octclinic.testing import wait_until
from scheduling.factories import AppointmentFactory
from scheduling.models import AppointmentStatus
from scheduling.tasks import mark_no_shows

pytestmark = pytest.mark.worker


def test_worker_runs_the_no_show_task_from_the_broker(celery_worker_process):
    if settings.REDIS_URL:
        assert settings.CELERY_BROKER_URL.startswith("redis://")
    now = timezone.now()
    late = AppointmentFactory(start=now - dt.timedelta(hours=3), end=now - dt.timedelta(hours=2, minutes=40))
    mark_no_shows.apply_async(queue=celery_worker_process)

    def marked():
        late.refresh_from_db()
        return late.status == AppointmentStatus.NO_SHOW

    wait_until(marked, timeout=90)
