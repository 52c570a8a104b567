from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from octclinic.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Replace the database and media with a backup made by `manage.py backup`, after verifying every checksum."

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument("--yes", action="store_true", help="don't ask: this replaces all current data")

    def handle(self, *args, archive, yes=False, **options):
        if not yes and input("This replaces ALL current data. Type 'restore' to go on: ").strip() != "restore":
            raise CommandError("Restore cancelled; nothing was changed.")
        try:
            summary = backup_restore(archive=Path(archive))
        except BackupError as exc:
            raise CommandError(f"{exc}. Nothing was changed.") from exc
        self.stdout.write(f"Restored {summary.objects} records and {summary.media_files} media files.")
