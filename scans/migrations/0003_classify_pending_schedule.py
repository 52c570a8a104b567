"""Beat schedule: re-queue AI readings that are stuck or waiting for a model, every 5 minutes.

mlcore must not import scans, so deploying a model cannot wake the scans waiting for one; this sweeper
does (and also catches tasks lost by a broker outage). Editable in the admin.
"""

from django.db import migrations

TASK_NAME = "Re-queue pending AI readings"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "scans.tasks.classify_pending", "interval": interval, "enabled": True},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scans", "0002_prediction"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
