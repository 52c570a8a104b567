from django.core.management.base import BaseCommand, CommandError

from scans.models import DatasetImport
from scans.services import dataset_import


class Command(BaseCommand):
    help = "Import a labelled dataset (folder or ZIP: CLASS/*, train|val|test/CLASS/*, or labels.csv) for training."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--name", default="")
        parser.add_argument("--progress-every", type=int, default=100)

    def handle(self, *args, path, name, progress_every, **options):
        def progress(job: DatasetImport) -> None:
            self.stdout.write(
                f"[{job.percent:3d}%] {job.processed}/{job.total} processed: {job.imported} imported, "
                f"{job.duplicates} duplicates, {job.refused} refused"
            )

        job = dataset_import(path=path, name=name, progress=progress, progress_every=max(1, progress_every))
        for error in job.errors[:50]:
            self.stdout.write(f"  {error['file']}: {error['reason']}")
        if len(job.errors) > 50:
            self.stdout.write(f"  … and {len(job.errors) - 50} more (see the admin page of import #{job.pk})")
        if job.status == DatasetImport.Status.FAILED:
            raise CommandError(f"Import #{job.pk} failed: {job.message}")
        self.stdout.write(self.style.SUCCESS(f"Import #{job.pk} done: {job.message}"))
