from django.core.management.base import BaseCommand

from scans.services import storage_orphans_sweep


class Command(BaseCommand):
    help = "Remove scan files without a row and rows whose file is gone (what a killed upload leaves)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, default=None, help="Minutes (default SCANS_ORPHAN_GRACE_MINUTES)."
        )
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, older_than, dry_run, **options):
        report = storage_orphans_sweep(older_than_minutes=older_than, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(
            f"{verb} {len(report.orphan_files)} orphan files; {report.young_files_skipped} recent files left"
        )
        self.stdout.write(f"{verb} {len(report.scans_missing_file)} scans whose original is missing")
        self.stdout.write(f"{verb} {len(report.labelled_images_missing_file)} labelled images whose file is missing")
