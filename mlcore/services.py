"""Registry changes: register a trained model, deploy it, roll back. Keyword-only, one job each."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from mlcore.artifacts import ModelCard, artifact_save
from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion, ModelVersionLifecycle
from mlcore.oct_check import OCT_CHECK_VERSION, oct_check_describe
from mlcore.quality_reports import cv_report_for
from mlcore.selectors import model_version_deployed, model_version_previous
from mlcore.triage import thresholds_current

logger = logging.getLogger(__name__)


def model_version_register(
    *,
    model,
    version: str,
    base_weights: str | None = None,
    training_data: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    temperature: float = 1.0,
    notes: str = "",
    export_litert: bool = True,
) -> ModelVersion:
    """Store a trained Keras model with its card and record it as a candidate (not yet serving).

    The thresholds in force are written into the card so the card says under which review rules the
    metrics were judged.
    """
    if ModelVersion.objects.filter(version=version).exists():
        raise ValueError(f"Model version {version!r} already exists")
    card = ModelCard(
        version=version,
        base_weights=base_weights if base_weights in (None, "imagenet") else "file",
        training_data=training_data or {},
        metrics=metrics or {},
        temperature=float(temperature),
        thresholds=thresholds_current().as_dict(),
    )
    card = artifact_save(model=model, card=card, export_litert=export_litert)
    return ModelVersion.objects.create(
        version=version,
        status=ModelVersion.Status.CANDIDATE,
        artifact_path=card.artifact["path"],
        card=card.as_dict(),
        notes=notes,
    )


def _verify_loadable(model_version: ModelVersion) -> None:
    """Load and warm the artifact exactly as a worker will, so a broken one is refused before it serves."""
    from mlcore.runtime import model_load

    model_load(version=model_version.version)


def model_version_deploy(*, model_version: ModelVersion) -> ModelVersion:
    """Make ``model_version`` the only deployed version; the one it replaces becomes retired.

    A version whose artifact cannot load is marked failed and ``ArtifactCorrupt`` is raised; the current
    deployment is left untouched.
    """
    if model_version.status == ModelVersion.Status.DEPLOYED:
        return model_version
    if model_version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED) and not (
        model_version.artifact_path
    ):
        raise ModelVersionUnavailable(f"Model version {model_version.version!r} has no artifact to deploy")
    try:
        _verify_loadable(model_version)
    except ModelVersionUnavailable as exc:
        ModelVersion.objects.filter(pk=model_version.pk).update(
            status=ModelVersion.Status.FAILED, notes=(model_version.notes + f"\nDeploy refused: {exc}").strip()
        )
        model_version.refresh_from_db()
        logger.error("mlcore: deploy of %s refused: %s", model_version.version, exc)
        raise
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.DEPLOYED).update(
            status=ModelVersion.Status.RETIRED
        )
        model_version.status = ModelVersion.Status.DEPLOYED
        model_version.deployed_at = timezone.now()
        model_version.save(update_fields=["status", "deployed_at"])
        # A deployed model no longer needs a shadow run of itself.
        ModelVersionLifecycle.objects.filter(model_version=model_version).update(shadow=False)
    logger.info("mlcore: deployed model %s", model_version.version)
    return model_version


def model_version_rollback() -> ModelVersion:
    """Redeploy the most recently deployed other version (a second rollback undoes the first)."""
    previous = model_version_previous()
    if previous is None:
        raise ModelVersionUnavailable("No previously deployed model version to roll back to")
    current = model_version_deployed()
    deployed = model_version_deploy(model_version=previous)
    logger.info("mlcore: rolled back from %s to %s", current.version if current else None, deployed.version)
    return deployed


def model_version_retire(*, model_version: ModelVersion) -> ModelVersion:
    """Take a version out of service (a deployed one leaves nothing deployed: classification then stops)."""
    model_version.status = ModelVersion.Status.RETIRED
    model_version.save(update_fields=["status"])
    return model_version


def model_version_shadow_set(*, model_version: ModelVersion, shadow: bool) -> ModelVersion:
    """Run a candidate beside the deployed model on new scans (one shadow at a time), or stop doing so."""
    if shadow and model_version.status != ModelVersion.Status.CANDIDATE:
        raise ModelVersionUnavailable(f"Only a candidate can run in shadow mode ({model_version.version} is not)")
    with transaction.atomic():
        if shadow:
            ModelVersionLifecycle.objects.exclude(model_version=model_version).update(shadow=False)
        lifecycle, _ = ModelVersionLifecycle.objects.get_or_create(model_version=model_version)
        lifecycle.shadow = shadow
        lifecycle.save(update_fields=["shadow", "updated_at"])
    return model_version


# --- Training runs ------------------------------------------------------------------------------------------
# A run moves queued -> running -> succeeded | failed | cancelled. Its model version moves training ->
# candidate (or failed); nothing is deployable before the artifacts are stored and verified.


def training_run_request(
    *,
    params: dict[str, Any] | None = None,
    trigger: str = "manual",
    started_by=None,
    enqueue: bool = True,
):
    """Queue a training run, refusing (``TrainingBusy``) while another one is queued or running.

    The database's partial unique constraint is the arbiter, so two admins, two beat processes or a command
    racing a worker cannot start two trainings. The Celery task is sent only once the row is committed.
    """
    from django.db import IntegrityError

    from mlcore.exceptions import TrainingBusy
    from mlcore.models import TrainingRun
    from mlcore.training_params import TrainingParams

    checked = TrainingParams.from_dict(params or {})
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                status=TrainingRun.Status.QUEUED,
                trigger=trigger,
                params=checked.as_dict(),
                epochs_total=checked.epochs,
                started_by=started_by,
            )
    except IntegrityError as exc:
        raise TrainingBusy("Another training run is queued or running; wait for it or cancel it") from exc
    if enqueue:
        from mlcore.tasks import training_run_task

        transaction.on_commit(lambda: training_run_task.delay(run.pk))
    return run


def training_run_cancel(*, run):
    """A queued run is cancelled at once; a running one stops at its next batch (a Keras callback polls)."""
    from mlcore.models import TrainingRun

    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if run.status == TrainingRun.Status.QUEUED:
            run.status = TrainingRun.Status.CANCELLED
            run.finished_at = timezone.now()
            run.log += "Cancelled before it started.\n"
        elif run.status == TrainingRun.Status.RUNNING:
            run.cancel_requested = True
        run.save()
    return run


def _run_log(run_id: int, line: str, **fields) -> None:
    """Append a timestamped line to the run's log (and update fields) without touching other columns."""
    from django.db.models import Value
    from django.db.models.functions import Concat

    from mlcore.models import TrainingRun

    stamp = timezone.now().strftime("%H:%M:%S")
    TrainingRun.objects.filter(pk=run_id).update(
        log=Concat("log", Value(f"[{stamp}] {line}\n")), updated_at=timezone.now(), **fields
    )


def training_items_for(data: str):
    """Live items (with loaders) of a run's data source: ``clinic`` or a folder."""
    from mlcore.training_sources import folder_items, training_items_collect

    return training_items_collect(source="clinic") if data == "clinic" else folder_items(data, with_sha256=True)


def cross_validation_for(params) -> dict | None:
    """The recipe's recorded cross-validation, when this run trains on the very data it was measured on.

    The report measures the recipe on ``../shared/oct``; a version trained on other data (a clinic's own labels)
    does not inherit its figures, and its card shows its own held-out split instead.
    """
    if params.data == "clinic":
        return None
    report = cv_report_for(params.recipe_signature())
    if report is None or not report.get("data"):
        return None
    measured_on = Path(str(report["data"])).resolve()
    return report if Path(params.data).resolve() == measured_on else None


def training_run_execute(*, run_id: int, on_epoch=None):
    """Do the run: snapshot the data, train, evaluate on the held-out test split, register a candidate.

    Idempotent: a run that is not queued any more (a redelivered task) is left alone. Any crash marks the run
    and its version failed with the traceback in the log, and deletes whatever artifact was written: a model
    is either fully registered (artifacts, card, evaluation) or not at all.
    """
    import traceback

    from mlcore.datasets import dataset_snapshot_create, dataset_split_items
    from mlcore.evaluation import model_evaluate
    from mlcore.models import TrainingRun
    from mlcore.training import TrainingCancelled, device_shift_of, model_train_items, recipe_of
    from mlcore.training_params import TrainingParams

    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run_id)
        if run.status != TrainingRun.Status.QUEUED:
            logger.info("mlcore: training run %s is %s, nothing to do", run_id, run.status)
            return run
        run.status = TrainingRun.Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at", "updated_at"])
        version = ModelVersion.objects.create(
            version=f"oct-{run.started_at:%Y%m%d-%H%M%S}-r{run.pk}",
            status=ModelVersion.Status.TRAINING,
            artifact_path="",
            notes=f"training run #{run.pk}",
        )
        run.model_version = version
        run.save(update_fields=["model_version"])
    params = TrainingParams.from_dict(run.params)

    def report(progress) -> None:
        val = {k: round(v, 4) for k, v in progress.metrics.items()}
        _run_log(
            run_id,
            f"epoch {progress.epoch}/{progress.epochs} loss {_fmt(progress.loss)} "
            + " ".join(f"{k} {v:.4f}" for k, v in val.items())
            + f" eta {progress.eta_seconds:.0f}s",
            epoch=progress.epoch,
            loss=progress.loss,
            val_metrics=val,
            eta_seconds=progress.eta_seconds,
        )
        if on_epoch is not None:
            on_epoch(progress)

    def cancelled() -> bool:
        return TrainingRun.objects.filter(pk=run_id, cancel_requested=True).exists()

    try:
        items = training_items_for(params.data)
        dataset = dataset_snapshot_create(items=items, source=params.data)
        TrainingRun.objects.filter(pk=run_id).update(dataset=dataset)
        _run_log(
            run_id,
            f"dataset #{dataset.pk}: {len(dataset.items)} images, content hash {dataset.content_hash[:12]}, "
            f"class counts {dataset.class_counts}, class weights {dataset.class_weights}",
        )
        train = dataset_split_items(dataset=dataset, items=items, split="train")
        validation = dataset_split_items(dataset=dataset, items=items, split="validation")
        test = dataset_split_items(dataset=dataset, items=items, split="test")
        result = model_train_items(
            train_items=train,
            validation_items=validation,
            input_size=params.input_size,
            base_weights=params.base_weights,
            fine_tune_depth=params.fine_tune_depth,
            epochs=params.epochs,
            batch_size=params.batch_size,
            learning_rate=params.learning_rate,
            class_weights=dataset.class_weights,
            augment=params.augment,
            on_epoch=report,
            should_cancel=cancelled,
            seed=params.seed,
            recipe=recipe_of(params),
            device_shift=device_shift_of(params),
        )
        _run_log(run_id, f"trained in {result.seconds:.0f}s ({result.images_per_second:.1f} images/s)")
        evaluation = model_evaluate(model=result.model, temperature=result.temperature, items=test)
        model_version_candidate_store(
            model_version=version,
            model=result.model,
            temperature=result.temperature,
            base_weights=params.base_weights,
            training_data={
                "source": params.data,
                "dataset_id": dataset.pk,
                "content_hash": dataset.content_hash,
                "class_counts": dataset.class_counts,
                "class_weights": dataset.class_weights,
                "groups": dataset.groups,
                "params": params.as_dict(),
                "synthetic": params.synthetic,
            },
            metrics=result.metrics
            | {
                "test": _summary(evaluation),
                "training_seconds": round(result.seconds, 1),
                "images_per_second": result.images_per_second,
                "steady_images_per_second": result.steady_images_per_second,
            },
            evaluation=evaluation,
            deferral=result.deferral,
            calibration=result.calibration,
            cross_validation=cross_validation_for(params),
        )
    except TrainingCancelled:
        _run_log(run_id, "cancelled", status=TrainingRun.Status.CANCELLED, finished_at=timezone.now())
        _version_fail(version, "training cancelled")
        return TrainingRun.objects.get(pk=run_id)
    except Exception as exc:
        logger.exception("mlcore: training run %s failed", run_id)
        _run_log(
            run_id,
            f"FAILED: {type(exc).__name__}: {exc}\n{traceback.format_exc()}",
            status=TrainingRun.Status.FAILED,
            finished_at=timezone.now(),
        )
        _version_fail(version, f"training failed: {type(exc).__name__}: {exc}")
        return TrainingRun.objects.get(pk=run_id)
    _run_log(
        run_id,
        f"registered candidate {version.version}: test accuracy {_fmt(evaluation['accuracy'])}",
        status=TrainingRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
    )
    run = TrainingRun.objects.get(pk=run_id)
    if params.auto_promote:
        version.refresh_from_db()
        decision = model_version_promote_if_not_worse(candidate=version)
        _run_log(run_id, f"gate {'passed' if decision.passed else 'refused'}: {decision.reason}")
    return TrainingRun.objects.get(pk=run_id)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _summary(evaluation: dict) -> dict:
    keys = ("n", "accuracy", "macro_f1", "urgent_sensitivity", "urgent_specificity", "ece")
    return {k: evaluation.get(k) for k in keys}


def _version_fail(version: ModelVersion, reason: str) -> None:
    from django.core.files.storage import default_storage

    from mlcore.artifacts import artifact_prefix

    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.FAILED, notes=reason)
    try:  # best effort: a failed version keeps no files that could be mistaken for a model
        directory = artifact_prefix(version.version)
        _, files = default_storage.listdir(directory)
        for name in files:
            default_storage.delete(f"{directory}/{name}")
    except (FileNotFoundError, NotImplementedError, OSError):
        pass


def model_version_candidate_store(
    *,
    model_version: ModelVersion,
    model,
    temperature: float,
    base_weights: str | None,
    training_data: dict[str, Any],
    metrics: dict[str, Any],
    evaluation: dict[str, Any],
    export_litert: bool = True,
    deferral: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
    cross_validation: dict[str, Any] | None = None,
) -> ModelVersion:
    """Training → candidate: store artifacts and card, then flip the row and attach the evaluation together."""
    card = ModelCard(
        version=model_version.version,
        base_weights=base_weights if base_weights in (None, "imagenet") else "file",
        training_data=training_data,
        metrics=metrics,
        temperature=float(temperature),
        thresholds=thresholds_current().as_dict(),
        deferral=deferral or {},
        calibration=calibration or {},
        cross_validation=cross_validation or {},
        oct_check={"version": OCT_CHECK_VERSION, "description": oct_check_describe()},
        intended_use="demo" if training_data.get("synthetic") else "clinical",
    )
    card = artifact_save(model=model, card=card, export_litert=export_litert)
    with transaction.atomic():
        ModelVersion.objects.filter(pk=model_version.pk).update(
            status=ModelVersion.Status.CANDIDATE, artifact_path=card.artifact["path"], card=card.as_dict()
        )
        ModelVersionLifecycle.objects.update_or_create(model_version=model_version, defaults={"evaluation": evaluation})
    model_version.refresh_from_db()
    return model_version


def model_version_gate(*, candidate: ModelVersion):
    """Score the candidate and the deployed model on the candidate's frozen test split; store the decision."""
    from mlcore.artifacts import keras_model_load, model_card_load
    from mlcore.datasets import dataset_split_items
    from mlcore.evaluation import model_evaluate
    from mlcore.gating import GateDecision, gate_decide
    from mlcore.models import TrainingDataset

    deployed = model_version_deployed()
    dataset_id = candidate.card.get("training_data", {}).get("dataset_id")
    try:
        dataset = TrainingDataset.objects.get(pk=dataset_id)
        items = training_items_for(dataset.source)
        test = dataset_split_items(dataset=dataset, items=items, split="test")
        scores = {}
        for name, version in (("candidate", candidate), ("deployed", deployed)):
            if version is None:
                continue
            card = model_card_load(version=version.version)
            model = keras_model_load(card=card)
            scores[name] = model_evaluate(model=model, temperature=card.temperature, items=test)
        decision = gate_decide(candidate=scores["candidate"], deployed=scores.get("deployed"))
    except (TrainingDataset.DoesNotExist, LookupError, ModelVersionUnavailable, OSError) as exc:
        scores = {}
        decision = GateDecision(False, f"cannot compare on the frozen test set: {exc}")
    ModelVersionLifecycle.objects.update_or_create(
        model_version=candidate,
        defaults={
            "gating_passed": decision.passed,
            "gating_reason": decision.reason,
            "gating_report": {
                "deployed_version": deployed.version if deployed else None,
                "candidate": _summary(scores["candidate"]) if "candidate" in scores else None,
                "deployed": _summary(scores["deployed"]) if "deployed" in scores else None,
                "per_class_recall": {k: {c: v["recall"] for c, v in s["per_class"].items()} for k, s in scores.items()},
            },
        },
    )
    return decision


def model_version_promote_if_not_worse(*, candidate: ModelVersion):
    """Scheduled retraining's last step: deploy the candidate only if the gate passes."""
    decision = model_version_gate(candidate=candidate)
    if decision.passed:
        try:
            model_version_deploy(model_version=candidate)
        except ModelVersionUnavailable as exc:
            from mlcore.gating import GateDecision

            return GateDecision(False, f"gate passed but deploy failed: {exc}")
    else:
        logger.info("mlcore: candidate %s stays a candidate: %s", candidate.version, decision.reason)
    return decision


def training_runs_stale_fail() -> int:
    """Runs whose worker died (no progress for ``MLCORE_TRAINING_STALE_MINUTES``) fail, freeing the slot."""
    from datetime import timedelta

    from django.conf import settings

    from mlcore.models import TrainingRun

    minutes = int(getattr(settings, "MLCORE_TRAINING_STALE_MINUTES", 120))
    cutoff = timezone.now() - timedelta(minutes=minutes)
    stale = TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE, updated_at__lt=cutoff)
    count = 0
    for run in stale:
        _run_log(run.pk, f"no progress for {minutes} minutes: worker lost", status="failed", finished_at=timezone.now())
        if run.model_version_id:
            _version_fail(run.model_version, "training worker lost")
        count += 1
    return count


def training_retrain_scheduled():
    """The weekly beat job: start a run only if enough newly approved labels exist since the last dataset.

    Several beat or worker processes may call this at once; ``training_run_request``'s constraint lets one
    win, the others get ``TrainingBusy`` and do nothing. Returns the run, or None when skipped.
    """
    from django.conf import settings

    from mlcore.exceptions import TrainingBusy
    from mlcore.models import TrainingDataset
    from mlcore.training_sources import training_items_collect

    training_runs_stale_fail()
    threshold = int(getattr(settings, "MLCORE_RETRAIN_MIN_NEW_LABELS", 100))
    known: set[str] = set()
    last = TrainingDataset.objects.filter(source="clinic").order_by("-created_at").first()
    if last is not None:
        known = {row["key"] for row in last.items}
    new = sum(1 for item in training_items_collect(source="clinic") if item.key not in known)
    if new < threshold:
        logger.info("mlcore: scheduled retraining skipped: %s new labels (< %s)", new, threshold)
        return None
    try:
        return training_run_request(params={"data": "clinic", "auto_promote": True}, trigger="scheduled")
    except TrainingBusy:
        logger.info("mlcore: scheduled retraining skipped: a run is already active")
        return None


def model_version_evaluate(*, model_version: ModelVersion, data: str, batch_size: int = 16) -> dict:
    """Score a version on a labelled folder without importing it (a clinic's local validation)."""
    from mlcore.artifacts import keras_model_load, model_card_load
    from mlcore.evaluation import model_evaluate
    from mlcore.training_sources import folder_items

    items = folder_items(data)
    card = model_card_load(version=model_version.version)
    model = keras_model_load(card=card)
    metrics = model_evaluate(model=model, temperature=card.temperature, items=items, batch_size=batch_size)
    metrics["version"] = model_version.version
    return metrics
