from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from scans.dicom_server import dicom_server_start


class Command(BaseCommand):
    help = "Run the DICOM receiver (C-STORE) and modality worklist (C-FIND) until stopped (docs/dicom.md)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="Bind address (default DICOM_BIND_ADDRESS).")
        parser.add_argument("--port", type=int, default=None, help="Port (default DICOM_PORT).")

    def handle(self, *args, host, port, **options):
        try:
            dicom_server_start(host=host, port=port, block=True)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"the DICOM port could not be opened ({exc.strerror or exc})") from exc
