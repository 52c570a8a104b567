from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


class OctclinicConfig(AppConfig):
    name = "octclinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        post_migrate.connect(_roles_resync, sender=self)
        from auditlog.models import LogEntry
        from django.db.models.signals import pre_save

        from .audit_actor import log_entry_actor_fill

        pre_save.connect(log_entry_actor_fill, sender=LogEntry, dispatch_uid="octclinic.audit_actor")
        from .clinic_metrics import SOURCES
        from .metrics import metric_source_register

        for name, source in SOURCES.items():
            metric_source_register(name=name, source=source)
        from .celery import ensure_broker_folders

        ensure_broker_folders()
        if not settings.PRODUCTION:
            # whitenoise warns on every request when STATIC_ROOT is missing; in development it serves
            # from the app folders anyway, so an empty folder is all it needs.
            Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def _roles_resync(sender, apps=None, **kwargs) -> None:
    """Keep the role groups equal to ROLE_PERMISSIONS after every migrate (and after a test flush).

    The data migrations create the groups; this re-applies the list when code changed it, and strictly,
    so a role naming a permission that doesn't exist fails the migrate instead of passing silently.
    """
    from django.apps import apps as global_apps

    from .roles import roles_sync

    apps = apps or global_apps  # a test database flush sends no historical apps

    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:
        return
    roles_sync(group_model=group_model, permission_model=permission_model)
