"""Staff roles: the three groups every clinic has and what each may do.

The permission lists are the single source of truth. Data migrations apply them: whenever a later
issue adds a permission to a role, it adds a migration that calls ``roles_migration_apply`` (after the
migration that creates the permission). Earlier role migrations run with ``strict=False`` so a fresh
database, where later permissions do not exist yet, still migrates; a test checks that after all
migrations every group holds exactly the permissions listed here.
"""

from __future__ import annotations

from collections.abc import Iterable

TECHNICIAN = "Technician"
DOCTOR = "Doctor"
CLINIC_ADMIN = "Clinic admin"
ROLES = (TECHNICIAN, DOCTOR, CLINIC_ADMIN)

# Roles whose members work in the Django admin as well as in the dashboard.
# Doctors too: they approve AI readings in the admin's prediction list as well as in the review queue.
STAFF_SITE_ROLES = frozenset({CLINIC_ADMIN, DOCTOR})

ROLE_PERMISSIONS: dict[str, list[str]] = {
    TECHNICIAN: [
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "scheduling.view_resource",
        "scheduling.view_openinghours",
        "scheduling.view_appointment",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.reschedule_appointment",
        "scheduling.cancel_appointment",
        "scheduling.check_in_appointment",
        "scheduling.view_appointmentreschedule",
        "scans.view_scan",
        "scans.add_scan",
        "scans.choose_scan_frames",
        "scans.view_dicommetadata",
        "scans.view_prediction",
        "patients.view_all_patients",
    ],
    DOCTOR: [
        "patients.view_patient",
        "scheduling.view_resource",
        "scheduling.view_appointment",
        "scheduling.view_appointmentreschedule",
        "scans.view_scan",
        "scans.choose_scan_frames",
        "scans.view_dicommetadata",
        "scans.view_prediction",
        "mlcore.view_modelversion",
        "scans.view_review",
        "scans.review_scan",
        "scans.export_review",
        "scans.view_secondopinionrequest",
    ],
    CLINIC_ADMIN: [
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.archive_patient",
        "patients.view_all_patients",
        "patients.view_careteam",
        "patients.add_careteam",
        "patients.change_careteam",
        "scans.view_review",
        "scans.export_review",
        "scheduling.view_resource",
        "scheduling.add_resource",
        "scheduling.change_resource",
        "scheduling.view_openinghours",
        "scheduling.add_openinghours",
        "scheduling.change_openinghours",
        "scheduling.delete_openinghours",
        "scheduling.view_appointment",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.reschedule_appointment",
        "scheduling.cancel_appointment",
        "scheduling.check_in_appointment",
        "scheduling.view_appointmentreschedule",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        "django_celery_beat.view_periodictask",
        "django_celery_beat.change_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.add_crontabschedule",
        "django_celery_beat.change_crontabschedule",
        "auditlog.view_logentry",
        "octclinic.view_apitoken",
        "octclinic.add_apitoken",
        "octclinic.change_apitoken",
        "scans.view_scan",
        "scans.add_scan",
        "scans.change_scan",
        "scans.delete_scan",
        "scans.choose_scan_frames",
        "scans.view_dicommetadata",
        "scans.view_prediction",
        "scans.view_datasetimport",
        "scans.add_datasetimport",
        "scans.change_datasetimport",
        "scans.view_labelledimage",
        "scans.change_labelledimage",
        "scans.delete_labelledimage",
        "mlcore.view_modelversion",
        "mlcore.deploy_modelversion",
        "mlcore.view_trainingrun",
        "mlcore.start_trainingrun",
        "mlcore.view_trainingdataset",
        "mlcore.view_shadowreading",
    ],
}


def roles_sync(
    *, group_model, permission_model, roles: dict[str, list[str]] | None = None, strict: bool = True
) -> None:
    """Create the role groups and give each exactly its permissions.

    Takes the models as arguments so a data migration can pass its historical models.
    """
    for role, perms in (roles or ROLE_PERMISSIONS).items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            try:
                wanted.append(permission_model.objects.get(content_type__app_label=app_label, codename=codename))
            except permission_model.DoesNotExist as exc:
                if not strict:
                    continue
                raise LookupError(f"Role {role!r} names an unknown permission {dotted!r}") from exc
        group.permissions.set(wanted)


def roles_migration_apply(apps, schema_editor) -> None:
    """The body of every role data migration: apply ROLE_PERMISSIONS with the migration's historical models.

    Permissions are normally created after all migrations ran (post_migrate), so the ones the roles name
    are created here first, on a fresh database too. Not strict: permissions of models that later
    migrations add don't exist yet; the post_migrate re-sync applies the list strictly at the end.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        roles=ROLE_PERMISSIONS,
        strict=False,
    )


def user_roles(user) -> list[str]:
    """The role names of a user, in the canonical order (cached on the user for one request)."""
    cached = getattr(user, "_octclinic_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True)) if user.pk else set()
        cached = [role for role in ROLES if role in names]
        user._octclinic_roles = cached
    return cached


def has_role(user, roles: Iterable[str]) -> bool:
    return bool(set(user_roles(user)) & set(roles))


def user_staff_flag(user) -> bool:
    """Whether the user belongs on the admin site: a superuser always, otherwise exactly when one of their roles is a
    ``STAFF_SITE_ROLES`` role. The one rule for the flag; nobody ticks "staff status" by hand."""
    if user.is_superuser:
        return True
    return bool(user.pk) and user.groups.filter(name__in=STAFF_SITE_ROLES).exists()


def user_staff_flag_sync(*, user) -> bool:
    """Set ``is_staff`` from the user's roles (after their groups changed: the admin, the demo seed, factories).
    Saved through the model so every path stores the same value; returns whether it changed."""
    wanted = user_staff_flag(user)
    if user.is_staff == wanted:
        return False
    user.is_staff = wanted
    user.save(update_fields=["is_staff"])
    user._octclinic_roles = None
    return True
