from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import Appointment, OpeningHours, Resource

        auditlog.register(Appointment)
        auditlog.register(Resource)
        auditlog.register(OpeningHours)

        from patients.timeline import timeline_source_register

        from .timeline import scheduling_timeline

        timeline_source_register(name="scheduling", source=scheduling_timeline)
