from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import Patient

        auditlog.register(Patient)
