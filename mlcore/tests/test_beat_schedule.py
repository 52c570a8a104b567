"""The weekly retraining schedule exists after migrate, names a real task, and is editable like any other."""

from django_celery_beat.models import PeriodicTask

from octclinic.celery import app


def test_weekly_retraining_schedule_exists(db):
    task = PeriodicTask.objects.get(task="mlcore.tasks.retrain_scheduled")
    assert task.enabled and task.crontab is not None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "2", "0")
    import mlcore.tasks  # noqa: F401

    assert "mlcore.tasks.retrain_scheduled" in app.tasks
