"""Registry changes: register a trained model, deploy it, roll back. Keyword-only, one job each.

Every action a person (or the schedule, a command, the demo seed) takes on a version is a clinical action: it is
recorded as a ``ModelAction`` with an auditlog entry (who, when, which version, from which to which, why), through
``model_action_record``. Deploy and roll back need a written reason; deploy is refused by the checks of
``selectors.model_version_deploy_problems`` unless overridden with a written reason. Gating and evaluation are
``ModelJob``s run by a worker on the training queue, never inside a web request.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mlcore.artifacts import ModelCard, artifact_save
from mlcore.exceptions import ModelActionRefused, ModelVersionUnavailable
from mlcore.models import ModelAction, ModelJob, ModelVersion, ModelVersionLifecycle
from mlcore.oct_check import OCT_CHECK_VERSION, oct_check_describe
from mlcore.quality_reports import cv_report_for
from mlcore.selectors import (
    model_version_deploy_problems,
    model_version_deployed,
    model_version_previous,
    shadow_agreement_report,
)
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


def registry_system_user():
    """The account that commands, the schedule and the demo seed act as in the audit trail (no login)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    username = getattr(settings, "MLCORE_SYSTEM_USERNAME", "model-registry")
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_active": False, "first_name": "Model registry (system)"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _actor_or_system(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else registry_system_user()


def model_action_record(
    *,
    action: str,
    actor,
    via: str,
    model_version: ModelVersion | None = None,
    from_version: str = "",
    to_version: str = "",
    reason: str = "",
    override_reason: str = "",
    details: dict[str, Any] | None = None,
    training_run=None,
) -> ModelAction:
    """Append one registry action and its audit trail entry. ``actor`` None means the system account."""
    from auditlog.models import LogEntry

    user = _actor_or_system(actor)
    row = ModelAction.objects.create(
        action=action,
        model_version=model_version,
        from_version=from_version or "",
        to_version=to_version or "",
        actor=user,
        actor_name=user.get_username(),
        via=via,
        reason=reason or "",
        override_reason=override_reason or "",
        details=details or {},
        training_run=training_run,
    )
    fields = {
        "action": action,
        "version": model_version.version if model_version is not None else "",
        "from_version": from_version,
        "to_version": to_version,
        "reason": reason,
        "override_reason": override_reason,
        "via": via,
        "training_run": training_run.pk if training_run is not None else None,
    }
    LogEntry.objects.log_create(
        row,
        force_log=True,
        action=LogEntry.Action.CREATE,
        changes={key: [None, str(value)] for key, value in fields.items() if value not in ("", None)},
        actor=user,
    )
    return row


def _deploy_details(model_version: ModelVersion) -> dict[str, Any]:
    """What the audit keeps of a deploy: the gate's comparison as it stood, and the version's headline figures."""
    lifecycle = ModelVersionLifecycle.objects.filter(model_version=model_version).first()
    details: dict[str, Any] = {"test": (model_version.card or {}).get("metrics", {}).get("test")}
    if lifecycle is not None:
        details["gate"] = {
            "passed": lifecycle.gating_passed,
            "reason": lifecycle.gating_reason,
            "report": lifecycle.gating_report,
        }
        if lifecycle.clinic_evaluation:
            details["clinic_test"] = _summary(lifecycle.clinic_evaluation)
    return details


def model_version_deploy(
    *, model_version: ModelVersion, actor, reason: str, override_reason: str = "", via: str = "web"
) -> ModelVersion:
    """Make ``model_version`` the only deployed version; the one it replaces becomes retired.

    Refused (``ModelActionRefused``, recorded as "deploy refused") without a reason, or when the deploy checks
    (``selectors.model_version_deploy_problems``) find a problem and no ``override_reason`` is written. A version
    whose artifact cannot load is marked failed and ``ArtifactCorrupt`` is raised; the current deployment is left
    untouched. Recorded with who, from which version to which, why, and the gate's comparison.
    """
    reason, override_reason = (reason or "").strip(), (override_reason or "").strip()
    if not reason:
        raise ModelActionRefused("Deploy refused: a reason is required", ["no reason given"])
    if model_version.status == ModelVersion.Status.DEPLOYED:
        return model_version
    if model_version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED) and not (
        model_version.artifact_path
    ):
        raise ModelVersionUnavailable(f"Model version {model_version.version!r} has no artifact to deploy")
    current = model_version_deployed()
    problems = model_version_deploy_problems(model_version=model_version)
    if problems and not override_reason:
        model_action_record(
            action=ModelAction.Action.DEPLOY_REFUSED,
            actor=actor,
            via=via,
            model_version=model_version,
            from_version=current.version if current else "",
            to_version=model_version.version,
            reason=reason,
            details={"problems": problems},
        )
        raise ModelActionRefused(
            f"Deploy of {model_version.version} refused: "
            + "; ".join(problems)
            + ". A clinic admin may override the checks with a written reason.",
            problems,
        )
    try:
        _verify_loadable(model_version)
    except ModelVersionUnavailable as exc:
        ModelVersion.objects.filter(pk=model_version.pk).update(
            status=ModelVersion.Status.FAILED, notes=(model_version.notes + f"\nDeploy refused: {exc}").strip()
        )
        model_version.refresh_from_db()
        logger.error("mlcore: deploy of %s refused: %s", model_version.version, exc)
        model_action_record(
            action=ModelAction.Action.DEPLOY_REFUSED,
            actor=actor,
            via=via,
            model_version=model_version,
            from_version=current.version if current else "",
            to_version=model_version.version,
            reason=reason,
            details={"problems": [f"the artifact cannot be served: {exc}"]},
        )
        raise
    details = _deploy_details(model_version)
    if problems:
        details["checks_overridden"] = problems
    with transaction.atomic():
        previous = list(
            ModelVersion.objects.select_for_update()
            .filter(status=ModelVersion.Status.DEPLOYED)
            .values_list("version", flat=True)
        )
        ModelVersion.objects.filter(status=ModelVersion.Status.DEPLOYED).update(status=ModelVersion.Status.RETIRED)
        model_version.status = ModelVersion.Status.DEPLOYED
        model_version.deployed_at = timezone.now()
        model_version.save(update_fields=["status", "deployed_at"])
        # A deployed model no longer needs a shadow run of itself.
        ModelVersionLifecycle.objects.filter(model_version=model_version).update(shadow=False)
        model_action_record(
            action=ModelAction.Action.DEPLOY,
            actor=actor,
            via=via,
            model_version=model_version,
            from_version=previous[0] if previous else "",
            to_version=model_version.version,
            reason=reason,
            override_reason=override_reason if problems else "",
            details=details,
        )
    logger.info("mlcore: deployed model %s", model_version.version)
    return model_version


def model_version_rollback(*, actor, reason: str, via: str = "web") -> ModelVersion:
    """Redeploy the most recently deployed other version (a second rollback undoes the first).

    It was deployed before, so the deploy checks are not asked again (a rollback must work in an emergency);
    the reason is required and the move is recorded as a rollback.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ModelActionRefused("Rollback refused: a reason is required", ["no reason given"])
    previous = model_version_previous()
    if previous is None:
        raise ModelVersionUnavailable("No previously deployed model version to roll back to")
    current = model_version_deployed()
    try:
        _verify_loadable(previous)
    except ModelVersionUnavailable:
        ModelVersion.objects.filter(pk=previous.pk).update(status=ModelVersion.Status.FAILED)
        raise
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.DEPLOYED).update(
            status=ModelVersion.Status.RETIRED
        )
        previous.status = ModelVersion.Status.DEPLOYED
        previous.deployed_at = timezone.now()
        previous.save(update_fields=["status", "deployed_at"])
        ModelVersionLifecycle.objects.filter(model_version=previous).update(shadow=False)
        model_action_record(
            action=ModelAction.Action.ROLLBACK,
            actor=actor,
            via=via,
            model_version=previous,
            from_version=current.version if current else "",
            to_version=previous.version,
            reason=reason,
        )
    logger.info("mlcore: rolled back from %s to %s", current.version if current else None, previous.version)
    return previous


def model_version_retire(*, model_version: ModelVersion, actor, reason: str = "", via: str = "web") -> ModelVersion:
    """Take a version out of service (a deployed one leaves nothing deployed: classification then stops)."""
    was = model_version.status
    if was == ModelVersion.Status.DEPLOYED and not (reason or "").strip():
        raise ModelActionRefused("Retiring the deployed model stops AI readings: a reason is required")
    with transaction.atomic():
        model_version.status = ModelVersion.Status.RETIRED
        model_version.save(update_fields=["status"])
        ModelVersionLifecycle.objects.filter(model_version=model_version).update(shadow=False)
        model_action_record(
            action=ModelAction.Action.RETIRE,
            actor=actor,
            via=via,
            model_version=model_version,
            from_version=model_version.version if was == ModelVersion.Status.DEPLOYED else "",
            reason=reason,
            details={"status_before": was},
        )
    return model_version


def model_version_candidate_require(*, model_version: ModelVersion, doing: str = "gated") -> None:
    """The one rule for gating (and shadowing): only a candidate. Views, admin, API and commands all come here."""
    if model_version.status != ModelVersion.Status.CANDIDATE:
        raise ModelActionRefused(
            f"Only a candidate can be {doing}: {model_version.version} is {model_version.get_status_display().lower()}"
        )


def model_version_shadow_set(
    *, model_version: ModelVersion, shadow: bool, actor, via: str = "web", reason: str = ""
) -> ModelVersion:
    """Run a candidate beside the deployed model on new scans (one shadow at a time), or stop doing so."""
    if shadow:
        model_version_candidate_require(model_version=model_version, doing="run in shadow mode")
    with transaction.atomic():
        before = list(
            ModelVersionLifecycle.objects.select_for_update()
            .filter(shadow=True)
            .values_list("model_version__version", flat=True)
        )
        if shadow:
            ModelVersionLifecycle.objects.exclude(model_version=model_version).update(shadow=False)
        lifecycle, _ = ModelVersionLifecycle.objects.get_or_create(model_version=model_version)
        changed = lifecycle.shadow != shadow
        lifecycle.shadow = shadow
        lifecycle.save(update_fields=["shadow", "updated_at"])
        if changed:
            model_action_record(
                action=ModelAction.Action.SHADOW_ON if shadow else ModelAction.Action.SHADOW_OFF,
                actor=actor,
                via=via,
                model_version=model_version,
                from_version=", ".join(before),
                to_version=model_version.version if shadow else "",
                reason=reason,
            )
    if shadow:
        from mlcore.shadow import shadow_cache_clear

        shadow_cache_clear()
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
    via: str | None = None,
):
    """Queue a training run, refusing (``TrainingBusy``) while another one is queued or running.

    Recorded as "training requested" (by ``started_by``, else the system account; ``via`` defaults from the
    trigger). The task goes to the training queue, never the classification workers'.

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
    model_action_record(
        action=ModelAction.Action.TRAINING_REQUESTED,
        actor=started_by,
        via=via or _VIA_OF_TRIGGER.get(trigger, "web"),
        training_run=run,
        details={"params": run.params, "trigger": trigger},
    )
    if enqueue:
        from mlcore.tasks import training_run_task

        transaction.on_commit(lambda: training_run_task.delay(run.pk))
    return run


_VIA_OF_TRIGGER = {"manual": "web", "command": "command", "scheduled": "schedule", "demo": "demo"}


def training_run_cancel(*, run, actor=None, via: str = "web", reason: str = ""):
    """A queued run is cancelled at once; a running one stops at its next batch (a Keras callback polls).

    Recorded as "training cancelled" when it changed anything (a finished run, or a second click, records nothing).
    """
    from mlcore.models import TrainingRun

    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run.pk)
        before = run.status
        if run.status == TrainingRun.Status.QUEUED:
            run.status = TrainingRun.Status.CANCELLED
            run.finished_at = timezone.now()
            run.log += "Cancelled before it started.\n"
        elif run.status == TrainingRun.Status.RUNNING and not run.cancel_requested:
            run.cancel_requested = True
        else:
            return run
        run.save()
        model_action_record(
            action=ModelAction.Action.TRAINING_CANCELLED,
            actor=actor,
            via=via,
            model_version=run.model_version,
            training_run=run,
            reason=reason,
            details={"status_before": before},
        )
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


def training_run_execute(*, run_id: int, on_epoch=None, worker: str = ""):
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
        run.worker = worker or "this process"
        run.save(update_fields=["status", "started_at", "worker", "updated_at"])
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
            # Trained on the clinic's own data: its test split *is* the clinic's frozen test set (splits are frozen
            # per patient), so the deploy check "evaluated on this clinic's test set" holds from the start.
            clinic_evaluation=_clinic_report(evaluation, dataset) if params.data == "clinic" else None,
            deferral=result.deferral,
            calibration=result.calibration,
            cross_validation=cross_validation_for(params),
            export_litert=bool(getattr(settings, "MLCORE_EXPORT_LITERT", True)),
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
        decision = model_version_promote_if_not_worse(candidate=version, actor=run.started_by, via="schedule")
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
    clinic_evaluation: dict[str, Any] | None = None,
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
        ModelVersionLifecycle.objects.update_or_create(
            model_version=model_version,
            defaults={"evaluation": evaluation}
            | ({"clinic_evaluation": clinic_evaluation} if clinic_evaluation else {}),
        )
    model_version.refresh_from_db()
    return model_version


def _clinic_report(metrics: dict, dataset) -> dict:
    return metrics | {
        "dataset_id": dataset.pk,
        "content_hash": dataset.content_hash,
        "evaluated_at": timezone.now().isoformat(),
    }


_SCORE_CHUNK = 64


def _score(*, model_version: ModelVersion, items, progress=None, offset: int = 0, total: int = 0, stage: str = ""):
    """The version's evaluation report on ``items``, scored in chunks so a job can say how far it is."""
    import numpy as np

    from mlcore.artifacts import keras_model_load, model_card_load
    from mlcore.evaluation import metrics_compute, model_probabilities
    from mlcore.labels import CLASSES

    card = model_card_load(version=model_version.version)
    model = keras_model_load(card=card)
    chunks = [items[i : i + _SCORE_CHUNK] for i in range(0, len(items), _SCORE_CHUNK)]
    probabilities = [np.zeros((0, len(CLASSES)))]
    done = 0
    for chunk in chunks:
        probabilities.append(model_probabilities(model=model, temperature=card.temperature, items=chunk))
        done += len(chunk)
        if progress is not None:
            progress(offset + done, total or len(items), stage)
    return metrics_compute(np.concatenate(probabilities), [CLASSES.index(item.label) for item in items])


def model_version_gate(*, candidate: ModelVersion, actor=None, via: str = "worker", progress=None):
    """Score the candidate and the deployed model on the candidate's frozen test split, add what the candidate's
    shadow run measured, store the decision and record it. Only a candidate can be gated.

    Runs in a worker (``model_version_gate_request`` queues it) or a command, never in a web request.
    ``progress(done, total, stage)`` is told how far the scoring is.
    """
    from mlcore.datasets import dataset_split_items
    from mlcore.gating import GateDecision, gate_decide
    from mlcore.models import TrainingDataset

    model_version_candidate_require(model_version=candidate, doing="gated")
    deployed = model_version_deployed()
    dataset_id = candidate.card.get("training_data", {}).get("dataset_id")
    shadow = shadow_agreement_report(candidate=candidate)
    try:
        dataset = TrainingDataset.objects.get(pk=dataset_id)
        items = training_items_for(dataset.source)
        test = dataset_split_items(dataset=dataset, items=items, split="test")
        contenders = [(name, v) for name, v in (("candidate", candidate), ("deployed", deployed)) if v is not None]
        total = len(test) * len(contenders)
        scores = {}
        for index, (name, version) in enumerate(contenders):
            scores[name] = _score(
                model_version=version,
                items=test,
                progress=progress,
                offset=index * len(test),
                total=total,
                stage=f"scoring the {name} model ({version.version}) on {len(test)} test scans",
            )
        decision = gate_decide(candidate=scores["candidate"], deployed=scores.get("deployed"), shadow=shadow)
    except (TrainingDataset.DoesNotExist, LookupError, ModelVersionUnavailable, OSError) as exc:
        scores = {}
        decision = GateDecision(False, f"cannot compare on the frozen test set: {exc}")
    report = {
        "deployed_version": deployed.version if deployed else None,
        "candidate": _summary(scores["candidate"]) if "candidate" in scores else None,
        "deployed": _summary(scores["deployed"]) if "deployed" in scores else None,
        "per_class_recall": {k: {c: v["recall"] for c, v in s["per_class"].items()} for k, s in scores.items()},
        "shadow": {k: shadow[k] for k in ("n", "agreements", "agreement_rate", "per_label")},
        "dataset_id": dataset_id,
    }
    ModelVersionLifecycle.objects.update_or_create(
        model_version=candidate,
        defaults={"gating_passed": decision.passed, "gating_reason": decision.reason, "gating_report": report},
    )
    model_action_record(
        action=ModelAction.Action.GATE,
        actor=actor,
        via=via,
        model_version=candidate,
        from_version=deployed.version if deployed else "",
        to_version=candidate.version,
        reason=decision.reason,
        details={"passed": decision.passed, "report": report},
    )
    return decision


def model_version_promote_if_not_worse(*, candidate: ModelVersion, actor=None, via: str = "schedule", reason: str = ""):
    """Scheduled retraining's last step (and ``deploy_model --gate``): deploy the candidate only if the gate
    passes and the deploy checks hold (no override here: an automatic promotion never overrides a check)."""
    from mlcore.gating import GateDecision

    decision = model_version_gate(candidate=candidate, actor=actor, via=via)
    if decision.passed:
        try:
            model_version_deploy(
                model_version=candidate,
                actor=actor,
                via=via,
                reason=(reason or "automatic promotion") + f"; the gate passed: {decision.reason}",
            )
        except ModelVersionUnavailable as exc:
            return GateDecision(False, f"gate passed but deploy refused: {exc}")
    else:
        logger.info("mlcore: candidate %s stays a candidate: %s", candidate.version, decision.reason)
    return decision


# --- Background jobs on a version (gate, evaluation) ------------------------------------------------------


def _job_request(*, model_version: ModelVersion, kind: str, actor, via: str, params: dict | None = None) -> ModelJob:
    from django.db import IntegrityError

    if model_version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED):
        raise ModelActionRefused(f"{model_version.version} has no stored model to score")
    try:
        with transaction.atomic():
            job = ModelJob.objects.create(
                kind=kind,
                model_version=model_version,
                params=params or {},
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
                via=via,
            )
    except IntegrityError:  # already queued or running: a second click joins it
        return ModelJob.objects.filter(model_version=model_version, kind=kind, status__in=ModelJob.ACTIVE).first()
    model_action_record(
        action=ModelAction.Action.GATE_REQUESTED
        if kind == ModelJob.Kind.GATE
        else ModelAction.Action.EVALUATION_REQUESTED,
        actor=actor,
        via=via,
        model_version=model_version,
        details={"job": job.pk, "kind": kind} | ({"params": params} if params else {}),
    )
    from mlcore.tasks import model_job_task

    job_id = job.pk
    transaction.on_commit(lambda: model_job_task.delay(job_id), robust=True)
    return job


def model_version_gate_request(*, model_version: ModelVersion, actor, via: str = "web") -> ModelJob:
    """Queue the gate (candidate vs deployed on the frozen test set) for the training worker. Only a candidate."""
    model_version_candidate_require(model_version=model_version, doing="gated")
    return _job_request(model_version=model_version, kind=ModelJob.Kind.GATE, actor=actor, via=via)


def model_version_evaluation_request(
    *, model_version: ModelVersion, actor, via: str = "web", data: str | None = None
) -> ModelJob:
    """Queue an evaluation: on this clinic's frozen test set (``data`` None), or on a labelled folder."""
    if data is None:
        return _job_request(model_version=model_version, kind=ModelJob.Kind.CLINIC_EVALUATION, actor=actor, via=via)
    return _job_request(
        model_version=model_version, kind=ModelJob.Kind.FOLDER_EVALUATION, actor=actor, via=via, params={"data": data}
    )


def clinic_test_dataset():
    """This clinic's frozen test set: the test split of its latest clinic data snapshot (splits are frozen per
    patient, so it only grows). With no snapshot yet, one is taken now from the clinic's labels."""
    from mlcore.datasets import dataset_snapshot_create
    from mlcore.models import TrainingDataset
    from mlcore.training_sources import training_items_collect

    latest = TrainingDataset.objects.filter(source="clinic").order_by("-created_at", "-pk").first()
    if latest is not None:
        return latest
    items = training_items_collect(source="clinic")
    if not items:
        raise ModelActionRefused("This clinic has no labelled scans yet: there is no frozen test set to evaluate on")
    return dataset_snapshot_create(items=items, source="clinic")


def model_version_clinic_evaluate(*, model_version: ModelVersion, actor=None, via: str = "worker", progress=None):
    """Score the version on this clinic's frozen test set and keep the report (the deploy checks read it)."""
    from mlcore.datasets import dataset_split_items

    dataset = clinic_test_dataset()
    test = dataset_split_items(dataset=dataset, items=training_items_for("clinic"), split="test")
    if not test:
        raise ModelActionRefused(f"The clinic's frozen test set (dataset #{dataset.pk}) is empty")
    metrics = _score(
        model_version=model_version,
        items=test,
        progress=progress,
        stage=f"scoring {model_version.version} on the clinic's {len(test)} test scans",
    )
    report = _clinic_report(metrics, dataset)
    ModelVersionLifecycle.objects.update_or_create(model_version=model_version, defaults={"clinic_evaluation": report})
    model_action_record(
        action=ModelAction.Action.EVALUATION,
        actor=actor,
        via=via,
        model_version=model_version,
        details={"test_set": f"clinic dataset #{dataset.pk}", "summary": _summary(metrics)},
    )
    return report


def model_job_execute(*, job_id: int, worker: str = "") -> ModelJob:
    """Run a queued job (idempotent: a job that is not queued any more is left alone); failures are stored."""
    with transaction.atomic():
        job = ModelJob.objects.select_for_update().select_related("model_version").get(pk=job_id)
        if job.status != ModelJob.Status.QUEUED:
            return job
        job.status, job.started_at, job.worker = ModelJob.Status.RUNNING, timezone.now(), worker or "this process"
        job.save(update_fields=["status", "started_at", "worker", "updated_at"])

    def progress(done: int, total: int, stage: str) -> None:
        ModelJob.objects.filter(pk=job_id).update(done=done, total=total, stage=stage[:200], updated_at=timezone.now())

    actor, version = job.requested_by, job.model_version
    try:
        if job.kind == ModelJob.Kind.GATE:
            decision = model_version_gate(candidate=version, actor=actor, via=job.via or "worker", progress=progress)
            result = decision.as_dict()
        elif job.kind == ModelJob.Kind.CLINIC_EVALUATION:
            result = _summary(
                model_version_clinic_evaluate(
                    model_version=version, actor=actor, via=job.via or "worker", progress=progress
                )
            )
        else:
            result = model_version_evaluate(model_version=version, data=job.params["data"], progress=progress)
            model_action_record(
                action=ModelAction.Action.EVALUATION,
                actor=actor,
                via=job.via or "worker",
                model_version=version,
                details={"test_set": job.params["data"], "summary": _summary(result)},
            )
    except Exception as exc:
        logger.exception("mlcore: job %s failed", job_id)
        ModelJob.objects.filter(pk=job_id).update(
            status=ModelJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
    else:
        ModelJob.objects.filter(pk=job_id).update(
            status=ModelJob.Status.SUCCEEDED, result=result, finished_at=timezone.now(), stage="done"
        )
    return ModelJob.objects.get(pk=job_id)


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
    # A running gate or evaluation whose worker died would hold its version's slot for ever: failed the same way
    # (a queued one may just be waiting behind a long training).
    count += ModelJob.objects.filter(status=ModelJob.Status.RUNNING, updated_at__lt=cutoff).update(
        status=ModelJob.Status.FAILED,
        error=f"no progress for {minutes} minutes: worker lost",
        finished_at=timezone.now(),
    )
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


def model_version_evaluate(*, model_version: ModelVersion, data: str, batch_size: int = 16, progress=None) -> dict:
    """Score a version on a labelled folder without importing it (a clinic's local validation)."""
    from mlcore.artifacts import keras_model_load, model_card_load
    from mlcore.evaluation import model_evaluate
    from mlcore.training_sources import folder_items

    items = folder_items(data)
    if progress is not None:
        metrics = _score(model_version=model_version, items=items, progress=progress, stage=f"scoring on {data}")
    else:
        card = model_card_load(version=model_version.version)
        model = keras_model_load(card=card)
        metrics = model_evaluate(model=model, temperature=card.temperature, items=items, batch_size=batch_size)
    metrics["version"] = model_version.version
    return metrics
