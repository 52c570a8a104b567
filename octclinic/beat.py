"""Beat schedules created by data migrations (django-celery-beat), one helper pair for every app.

Each app that ships a periodic task adds a data migration that calls ``periodic_task_ensure`` with its
own task name and schedule, and ``periodic_task_remove`` on the way back. The task is only created when
missing (``get_or_create`` by name), so a schedule a clinic admin edited or disabled in the admin is
never overwritten by a later migrate. Takes the migration's ``apps`` so the historical models are used.
"""

from __future__ import annotations


def periodic_task_ensure(
    apps,
    *,
    name: str,
    task: str,
    interval: dict | None = None,
    crontab: dict | None = None,
    enabled: bool = True,
) -> None:
    """Create the periodic task ``name`` running ``task`` unless one of that name exists.

    ``interval`` (e.g. ``{"every": 5, "period": "minutes"}``) or ``crontab`` (the CrontabSchedule fields)
    describes the schedule; exactly one is given, as django-celery-beat allows only one per task.
    """
    if (interval is None) == (crontab is None):
        raise ValueError("Give exactly one of interval or crontab")
    periodic_task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    defaults: dict = {"task": task, "enabled": enabled}
    if interval is not None:
        schedule, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(**interval)
        defaults["interval"] = schedule
    else:
        schedule, _ = apps.get_model("django_celery_beat", "CrontabSchedule").objects.get_or_create(**crontab)
        defaults["crontab"] = schedule
    periodic_task_model.objects.get_or_create(name=name, defaults=defaults)


def periodic_task_remove(apps, *, name: str) -> None:
    """Reverse of ``periodic_task_ensure``: delete the periodic task ``name`` (its schedule row stays,
    other tasks may share it)."""
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()
