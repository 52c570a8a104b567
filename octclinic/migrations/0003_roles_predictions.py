"""Let every role see AI predictions (the scan page shows them to whoever may see the scan)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def sync_roles(apps, schema_editor):
    # As in 0001: make sure the permissions of the Prediction model exist before assigning them.
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
        ("octclinic", "0002_roles_scans"),
        ("scans", "0003_classify_pending_schedule"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
