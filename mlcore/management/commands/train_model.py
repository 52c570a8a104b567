from django.core.management.base import BaseCommand, CommandError

from mlcore.exceptions import ModelVersionUnavailable, TrainingBusy, TrainingParamsInvalid
from mlcore.models import TrainingRun
from mlcore.services import (
    model_version_deploy,
    model_version_promote_if_not_worse,
    training_run_execute,
    training_run_request,
)


def progress_bar(epoch: int, total: int, width: int = 30) -> str:
    filled = int(width * epoch / total) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + f"] {epoch}/{total}"


class Command(BaseCommand):
    help = "Train a new model version in this process (one training at a time) and register it as a candidate."

    def add_arguments(self, parser):
        parser.add_argument("--data", default="clinic", help="'clinic' (approved + imported labels) or a folder")
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--image-size", type=int, dest="input_size")
        parser.add_argument("--base-weights", help="none, imagenet or a path to an .h5 weights file")
        parser.add_argument("--fine-tune-depth", type=int, help="train only the base's last N layers")
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--learning-rate", type=float)
        parser.add_argument("--no-augment", action="store_true")
        parser.add_argument("--seed", type=int)
        parser.add_argument(
            "--recipe", choices=("v2", "plain"), help="v2 (default; docs/mlcore.md) or the earlier plain Adam recipe"
        )
        parser.add_argument("--deploy", action="store_true", help="deploy the new version when training succeeds")
        parser.add_argument("--gate", action="store_true", help="deploy only if not worse than the deployed one")
        parser.add_argument(
            "--reason", default="", help="why it is deployed (required with --deploy / --gate; audited)"
        )
        parser.add_argument(
            "--override-reason",
            default="",
            help="with --deploy: why deploying is safe although the deploy checks refuse",
        )

    def handle(self, *args, **options):
        params = {"data": options["data"]}
        for key in ("epochs", "input_size", "fine_tune_depth", "batch_size", "learning_rate", "seed", "recipe"):
            if options[key] is not None:
                params[key] = options[key]
        if options["base_weights"] is not None:
            params["base_weights"] = None if options["base_weights"].lower() == "none" else options["base_weights"]
        if options["no_augment"]:
            params["augment"] = False
        try:
            run = training_run_request(params=params, trigger=TrainingRun.Trigger.COMMAND, enqueue=False)
        except (TrainingBusy, TrainingParamsInvalid) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Training run #{run.pk}: {run.params}")

        def on_epoch(progress) -> None:
            val = " ".join(f"{k} {v:.3f}" for k, v in progress.metrics.items())
            self.stdout.write(
                f"{progress_bar(progress.epoch, progress.epochs)} loss {progress.loss or 0:.4f} {val} "
                f"({progress.seconds:.0f}s, about {progress.eta_seconds:.0f}s left)"
            )

        run = training_run_execute(run_id=run.pk, on_epoch=on_epoch)
        if run.status != TrainingRun.Status.SUCCEEDED:
            self.stdout.write(run.log[-3000:])
            raise CommandError(f"Training run #{run.pk} {run.status}")
        version = run.model_version
        test = version.card.get("metrics", {}).get("test", {})
        self.stdout.write(self.style.SUCCESS(f"Candidate {version.version} registered; test split: {test}"))
        card = version.card
        deferral, calibration = card.get("deferral") or {}, card.get("calibration") or {}
        if deferral:
            self.stdout.write(
                f"calibration: temperature {calibration.get('temperature', 0):.3f}, validation ECE "
                f"{calibration.get('ece_before') or 0:.3f} -> {calibration.get('ece_after') or 0:.3f}; "
                f"deferral: readings under confidence {deferral['threshold']:.2f} are deferred "
                f"({deferral['validation_coverage']:.0%} of validation readings answered)"
            )
        cross_validation = card.get("cross_validation") or {}
        if cross_validation.get("headline"):
            headline = cross_validation["headline"]
            self.stdout.write(
                f"recipe cross-validation ({headline.get('folds')} folds, {cross_validation.get('measured_on')}): "
                f"accuracy {headline.get('accuracy') or 0:.3f}, urgent sensitivity "
                f"{headline.get('urgent_sensitivity') or 0:.3f} / "
                f"specificity {headline.get('urgent_specificity') or 0:.3f}"
            )
        metrics = version.card.get("metrics", {})
        self.stdout.write(
            f"training time {metrics.get('training_seconds')} s; throughput {metrics.get('images_per_second', 0):.2f} "
            f"images/s overall, {metrics.get('steady_images_per_second') or 0:.2f} images/s in cached epochs"
        )
        if (options["gate"] or options["deploy"]) and not options["reason"].strip():
            raise CommandError(f"Candidate {version.version} registered, not deployed: --reason is required to deploy")
        try:
            if options["gate"]:
                decision = model_version_promote_if_not_worse(
                    candidate=version,
                    actor=None,
                    via="command",
                    reason=f"manage.py train_model --gate: {options['reason']}",
                )
                self.stdout.write(f"gate {'passed' if decision.passed else 'refused'}: {decision.reason}")
            elif options["deploy"]:
                model_version_deploy(
                    model_version=version,
                    actor=None,
                    via="command",
                    reason=options["reason"],
                    override_reason=options["override_reason"],
                )
                self.stdout.write(self.style.SUCCESS(f"{version.version} deployed"))
        except ModelVersionUnavailable as exc:
            raise CommandError(str(exc)) from exc
