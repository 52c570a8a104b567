from django.apps import AppConfig


class MlcoreConfig(AppConfig):
    name = "mlcore"
    verbose_name = "AI models"

    def ready(self) -> None:
        # Connects the Celery worker_process_init hook (load + warm after fork). Cheap: no TensorFlow import.
        from mlcore import runtime  # noqa: F401
