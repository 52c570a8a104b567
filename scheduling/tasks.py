from celery import shared_task

from . import services


@shared_task(name="scheduling.mark_no_shows", ignore_result=True)
def mark_no_shows() -> int:
    """Periodic (beat): idempotent, so a duplicate delivery does no harm."""
    return services.appointments_mark_no_show()
