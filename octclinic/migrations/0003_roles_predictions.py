"""Let every role see AI predictions (the scan page shows them to whoever may see the scan)."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from octclinic.roles import roles_migration_apply

    roles_migration_apply(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("octclinic", "0002_roles_scans"),
        ("scans", "0003_classify_pending_schedule"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
