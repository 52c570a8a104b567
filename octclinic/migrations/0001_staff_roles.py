"""Create the Technician, Doctor and Clinic admin groups with their permissions."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from octclinic.roles import roles_migration_apply

    roles_migration_apply(apps, schema_editor)


def remove_roles(apps, schema_editor):
    from octclinic.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("patients", "0001_initial"),
        ("scheduling", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("auditlog", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
