"""Give the roles their scan permissions (upload/view for technicians, view for doctors, all for admins)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def sync_roles(apps, schema_editor):
    # As in 0001: make sure the permissions of the scans models exist before assigning them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    from octclinic.roles import ROLE_PERMISSIONS, roles_sync

    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        roles=ROLE_PERMISSIONS,
        strict=False,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("octclinic", "0001_staff_roles"),
        ("scans", "0001_scan_intake"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
