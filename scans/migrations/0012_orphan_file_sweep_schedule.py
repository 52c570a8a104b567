"""Beat schedule: remove orphan files nightly (03:30 UTC).

A classification worker killed between writing a heatmap and committing its reading leaves that object in storage
(the redelivered task writes another); before this, only an operator's ``sweep_scan_orphans`` removed it.
Editable (or disabled) in the admin.
"""

from django.db import migrations

from octclinic.beat import periodic_task_ensure, periodic_task_remove

TASK_NAME = "Remove orphan scan files"


def create_schedule(apps, schema_editor):
    periodic_task_ensure(
        apps,
        name=TASK_NAME,
        task="scans.tasks.sweep_orphan_files",
        crontab={
            "minute": "30",
            "hour": "3",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            "timezone": "UTC",
        },
    )


def remove_schedule(apps, schema_editor):
    periodic_task_remove(apps, name=TASK_NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("scans", "0011_second_opinion_not_record"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
