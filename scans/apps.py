from django.apps import AppConfig


class ScansConfig(AppConfig):
    name = "scans"
    verbose_name = "Scans"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from mlcore.page_sections import model_page_section_register
        from patients.timeline import timeline_source_register

        from .device_readiness import device_agreement_section
        from .models import DatasetImport, DicomMetadata, Scan
        from .selectors import scan_timeline_entries

        model_page_section_register(name="device_agreement", render=device_agreement_section)
        auditlog.register(Scan)
        auditlog.register(DicomMetadata)
        # Progress counters change every few images; only the job's life cycle is worth auditing.
        auditlog.register(DatasetImport, exclude_fields=["processed", "imported", "duplicates", "refused", "errors"])
        timeline_source_register(name="scans", source=scan_timeline_entries)
        from .training_source import register as training_source_register

        training_source_register()
