"""Give the roles their scan permissions (upload/view for technicians, view for doctors, all for admins)."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from octclinic.roles import roles_migration_apply

    roles_migration_apply(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("octclinic", "0001_staff_roles"),
        ("scans", "0001_scan_intake"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
