"""Beat schedule: mark appointments never checked in as no-shows, every 15 minutes (editable in the admin)."""

from django.db import migrations

from octclinic.beat import periodic_task_ensure, periodic_task_remove

TASK_NAME = "Mark no-shows"


def create_schedule(apps, schema_editor):
    periodic_task_ensure(
        apps, name=TASK_NAME, task="scheduling.mark_no_shows", interval={"every": 15, "period": "minutes"}
    )


def remove_schedule(apps, schema_editor):
    periodic_task_remove(apps, name=TASK_NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
