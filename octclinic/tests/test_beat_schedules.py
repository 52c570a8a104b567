"""The data migrations leave each app's beat schedule in place exactly as shipped, and a later migrate
never overwrites a schedule a clinic admin edited."""

from django.apps import apps as global_apps
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from octclinic.beat import periodic_task_ensure, periodic_task_remove


def test_each_app_schedule_exists_as_shipped(db):
    no_shows = PeriodicTask.objects.get(name="Mark no-shows")
    assert (no_shows.task, no_shows.enabled) == ("scheduling.mark_no_shows", True)
    assert (no_shows.interval.every, no_shows.interval.period, no_shows.crontab) == (15, "minutes", None)

    pending = PeriodicTask.objects.get(name="Re-queue pending AI readings")
    assert (pending.task, pending.enabled) == ("scans.tasks.classify_pending", True)
    assert (pending.interval.every, pending.interval.period, pending.crontab) == (5, "minutes", None)

    retrain = PeriodicTask.objects.get(name="Retrain the AI model on new approved labels")
    assert (retrain.task, retrain.enabled, retrain.interval) == ("mlcore.tasks.retrain_scheduled", True, None)
    crontab = retrain.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month, crontab.month_of_year) == (
        "0",
        "2",
        "0",
        "*",
        "*",
    )
    assert str(crontab.timezone) == "UTC"


def test_ensure_keeps_an_edited_schedule_and_remove_deletes_it(db):
    task = PeriodicTask.objects.get(name="Mark no-shows")
    task.enabled = False
    task.interval = IntervalSchedule.objects.create(every=30, period="minutes")
    task.save()

    periodic_task_ensure(
        global_apps, name="Mark no-shows", task="scheduling.mark_no_shows", interval={"every": 15, "period": "minutes"}
    )
    task.refresh_from_db()
    assert (task.enabled, task.interval.every) == (False, 30)

    periodic_task_remove(global_apps, name="Mark no-shows")
    assert not PeriodicTask.objects.filter(name="Mark no-shows").exists()
