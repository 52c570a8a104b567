"""Beat schedule: scheduled retraining, weekly (Sunday 02:00 UTC) by default; editable in the admin.

The task itself decides whether enough new approved labels exist, and the one-active-run constraint makes
several beat processes firing at once start a single run.
"""

from django.db import migrations

from octclinic.beat import periodic_task_ensure, periodic_task_remove

TASK_NAME = "Retrain the AI model on new approved labels"


def create_schedule(apps, schema_editor):
    periodic_task_ensure(
        apps,
        name=TASK_NAME,
        task="mlcore.tasks.retrain_scheduled",
        crontab={
            "minute": "0",
            "hour": "2",
            "day_of_week": "0",
            "day_of_month": "*",
            "month_of_year": "*",
            "timezone": "UTC",
        },
    )


def remove_schedule(apps, schema_editor):
    periodic_task_remove(apps, name=TASK_NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("mlcore", "0002_lifecycle"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
