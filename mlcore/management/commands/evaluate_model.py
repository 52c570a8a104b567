import json

from django.core.management.base import BaseCommand, CommandError

from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion
from mlcore.selectors import model_version_deployed, model_version_get


class Command(BaseCommand):
    help = (
        "Score the deployed model (or --version) on a labelled folder (CLASS/* or the Kermany layout) without "
        "importing it: a clinic's local validation. With --device, the folder holds one OCT device's scans and "
        "the result is recorded as that device's validation (models page, clinic dashboard)."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # The interface names the model with --version, which Django reserves for its own version:
        # let ours replace it.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", help="model version to score (default: the deployed one)")
        parser.add_argument("--data", required=True, help="folder with CLASS/* or train|val|test/CLASS/* images")
        parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        parser.add_argument("--batch-size", type=int, default=16)
        parser.add_argument(
            "--device",
            help="the OCT device the folder's scans come from, as readings and the models page name it (the booked "
            "device, e.g. 'OCT 2 (Cirrus 6000)', or a DICOM Manufacturer + Model Name such as 'Optovue RTVue XR'): "
            "validates the version on that device before go-live",
        )

    def handle(self, *args, version, data, json: bool, batch_size, device=None, **options):
        from mlcore.evaluation import report_text
        from mlcore.services import model_version_evaluate

        try:
            model_version = model_version_get(version=version) if version else model_version_deployed()
        except ModelVersion.DoesNotExist as exc:
            raise CommandError(f"No model version {version!r}") from exc
        if model_version is None:
            raise CommandError("No model version is deployed; name one with --version")
        try:
            metrics = model_version_evaluate(model_version=model_version, data=data, batch_size=batch_size)
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        except ModelVersionUnavailable as exc:
            raise CommandError(str(exc)) from exc
        metrics["data"] = str(data)
        if device is not None:
            from mlcore.device_validation import device_validation_record

            try:
                record = device_validation_record(
                    model_version=model_version, device=device, metrics=metrics, data=data
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            metrics["device"] = record.device
        if json:
            self.stdout.write(_dumps(metrics))
            return
        where = f" (device: {metrics['device']})" if device is not None else ""
        self.stdout.write(f"model {model_version.version} on {data}{where}")
        self.stdout.write(report_text(metrics))
        if device is not None:
            self.stdout.write(f"recorded as the validation of {model_version.version} on {metrics['device']}")


def _dumps(metrics: dict) -> str:
    return json.dumps(metrics, sort_keys=True)
