"""Beat schedule: re-queue AI readings that are stuck or waiting for a model, every 5 minutes.

mlcore must not import scans, so deploying a model cannot wake the scans waiting for one; this sweeper
does (and also catches tasks lost by a broker outage). Editable in the admin.
"""

from django.db import migrations

from octclinic.beat import periodic_task_ensure, periodic_task_remove

TASK_NAME = "Re-queue pending AI readings"


def create_schedule(apps, schema_editor):
    periodic_task_ensure(
        apps, name=TASK_NAME, task="scans.tasks.classify_pending", interval={"every": 5, "period": "minutes"}
    )


def remove_schedule(apps, schema_editor):
    periodic_task_remove(apps, name=TASK_NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("scans", "0002_prediction"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
