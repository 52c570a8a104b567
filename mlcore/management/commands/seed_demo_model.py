from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mlcore.exceptions import ModelVersionUnavailable, TrainingBusy, TrainingParamsInvalid
from mlcore.models import TrainingRun
from mlcore.selectors import model_version_deployed
from mlcore.services import model_version_deploy, training_run_execute, training_run_request
from mlcore.training_params import TrainingParams

# The by-patient split gives a class validation and test patients only from three patients up: without a
# validation split there is nothing to fit the temperature and the deferral threshold on.
MIN_PATIENTS_PER_CLASS = 3
DEMO_OVERRIDE = (
    "synthetic demo model for trying the software, marked 'not for clinical use' on every reading: trained and "
    "tested on generated phantom B-scans only, never on this clinic's scans"
)


def demo_patients_per_class(per_class: int) -> int:
    """Phantom patients per class: two images each as before, but never fewer than the split needs."""
    if per_class < MIN_PATIENTS_PER_CLASS:
        raise CommandError(
            f"--per-class must be at least {MIN_PATIENTS_PER_CLASS}: the demo model's calibration and deferral "
            "threshold are fitted on a validation split of its own phantom patients"
        )
    return max(MIN_PATIENTS_PER_CLASS, per_class // 2)


class Command(BaseCommand):
    help = (
        "Give the demo clinic a model: train a small InceptionV3 on generated phantom B-scans (marked synthetic, "
        "intended use 'demo'; calibration and deferral threshold fitted on its phantom validation split, as for "
        "any trained version) and deploy it. Does nothing when a version is already deployed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--per-class", type=int, default=60)
        parser.add_argument("--epochs", type=int, default=6)
        parser.add_argument("--image-size", type=int, default=96)
        parser.add_argument("--force", action="store_true", help="train even if a version is deployed")

    def handle(self, *args, per_class, epochs, image_size, force, **options):
        from mlcore.phantom import phantom_folder_write

        deployed = model_version_deployed()
        if deployed is not None and not force:
            self.stdout.write(f"A model is already deployed ({deployed.version}); nothing to do.")
            return
        folder = phantom_folder_write(
            Path(settings.DATA_DIR) / "mlcore-phantoms",
            per_class=per_class,
            patients_per_class=demo_patients_per_class(per_class),
        )
        self.stdout.write(f"Phantom B-scans in {folder}; training a synthetic demo model…")
        params = {
            "data": str(folder),
            "epochs": epochs,
            "input_size": image_size,
            "batch_size": 16,
            "learning_rate": 1e-3,
            # The recipe's warm-up must end before the run does: a short demo run (--epochs 1) warms up less.
            "warmup_epochs": max(0, min(TrainingParams.warmup_epochs, epochs - 1)),
            "synthetic": True,
        }
        try:
            run = training_run_request(params=params, trigger=TrainingRun.Trigger.DEMO, enqueue=False)
        except (TrainingBusy, TrainingParamsInvalid) as exc:
            raise CommandError(str(exc)) from exc

        def on_epoch(progress) -> None:
            self.stdout.write(f"  epoch {progress.epoch}/{progress.epochs} loss {progress.loss:.3f}")

        run = training_run_execute(run_id=run.pk, on_epoch=on_epoch)
        if run.status != TrainingRun.Status.SUCCEEDED:
            raise CommandError(f"Demo model training {run.status}: {run.log[-1500:]}")
        card = run.model_version.card
        deferral = card.get("deferral") or {}
        if deferral.get("threshold") is None or not card.get("calibration"):
            # Deployed without them the demo would offer every reading as a suggestion, however unsure.
            raise CommandError(
                f"Candidate {run.model_version.version} has no calibration or deferral threshold (no validation "
                "split?); it was not deployed"
            )
        try:
            # The demo model can pass no deploy check that matters (it has never seen this clinic's scans, and the
            # demo clinic has none); deployed anyway, by the registry's system account, with the override recorded.
            model_version_deploy(
                model_version=run.model_version,
                actor=None,
                via="demo",
                reason="make run / seed_demo_model: the demo clinic's synthetic model",
                override_reason=DEMO_OVERRIDE,
            )
        except ModelVersionUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Synthetic demo model {run.model_version.version} deployed (intended use: "
                f"{card.get('intended_use')}; readings under confidence {deferral['threshold']:.2f} are deferred, "
                f"{100 * (deferral.get('validation_coverage') or 0):.0f}% of its validation phantoms answered)."
            )
        )
