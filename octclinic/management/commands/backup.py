from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from octclinic.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Write the database and all media into one checksummed .tar.gz (restore with `manage.py restore`)."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="archive path (default: var/backups/octclinic-<UTC time>.tar.gz)")

    def handle(self, *args, output=None, **options):
        from django.conf import settings

        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        path = Path(output) if output else Path(settings.DATA_DIR) / "backups" / f"octclinic-{stamp}.tar.gz"
        try:
            summary = backup_create(output=path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{summary.objects} records and {summary.media_files} media files")
        self.stdout.write(str(summary.path))
