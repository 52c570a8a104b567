"""Read-only queries on the registry."""

from __future__ import annotations

from django.db.models import QuerySet

from mlcore.models import ModelVersion


def model_version_deployed() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.DEPLOYED).first()


def model_version_get(*, version: str) -> ModelVersion:
    return ModelVersion.objects.get(version=version)


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.all()


def model_version_previous() -> ModelVersion | None:
    """The version a rollback would restore: the most recently deployed one that is not deployed now."""
    return (
        ModelVersion.objects.filter(status=ModelVersion.Status.RETIRED, deployed_at__isnull=False)
        .order_by("-deployed_at")
        .first()
    )


def shadow_agreement_report(*, candidate: ModelVersion) -> dict:
    """How often the shadow candidate agreed with the deployed model: overall, per label the deployed model gave
    (n, agreements, rate) and the label pairs. "" is a scan one of them did not recognise as an OCT B-scan."""
    from collections import Counter

    from mlcore.labels import CLASSES
    from mlcore.models import ShadowReading

    rows = list(ShadowReading.objects.filter(candidate=candidate).values_list("deployed_label", "candidate_label"))
    pairs = Counter(rows)
    agree = sum(n for (a, b), n in pairs.items() if a == b)
    per_label = []
    for label in [*CLASSES, *sorted({a for a, _ in rows} - set(CLASSES))]:
        n = sum(count for (a, _), count in pairs.items() if a == label)
        if n:
            same = pairs.get((label, label), 0)
            per_label.append({"label": label or "not recognised", "n": n, "agreements": same, "rate": same / n})
    return {
        "n": len(rows),
        "agreements": agree,
        "agreement_rate": agree / len(rows) if rows else None,
        "per_label": per_label,
        "pairs": [{"deployed": a or "not recognised", "candidate": b or "not recognised", "n": n}
                  for (a, b), n in sorted(pairs.items())],
    }  # fmt: skip


def shadow_candidate_current() -> ModelVersion | None:
    """The candidate running in shadow mode now, if any."""
    return (
        ModelVersion.objects.filter(status=ModelVersion.Status.CANDIDATE, lifecycle__shadow=True)
        .order_by("-created_at")
        .first()
    )


def deploy_min_test_per_class() -> int:
    from django.conf import settings

    return int(getattr(settings, "MLCORE_DEPLOY_MIN_TEST_PER_CLASS", 10))


def _test_set_problems(report: dict, *, name: str, minimum: int) -> list[str]:
    from mlcore.labels import CLASSES

    per_class = report.get("per_class") or {}
    support = {c: int((per_class.get(c) or {}).get("support") or 0) for c in CLASSES}
    problems = []
    missing = [c for c, n in support.items() if n == 0]
    if missing:
        problems.append(f"{name} has no {', '.join(missing)} scans")
    few = [f"{c} {n}" for c, n in support.items() if 0 < n < minimum]
    if few:
        problems.append(f"{name} has fewer than {minimum} scans of a class ({', '.join(few)})")
    return problems


def model_version_deploy_problems(*, model_version: ModelVersion) -> list[str]:
    """Why this version must not be deployed without an override, in words (empty: it may be deployed).

    A test report (its held-out test split) must exist; that test set and this clinic's frozen test set must
    each hold every class with at least ``MLCORE_DEPLOY_MIN_TEST_PER_CLASS`` scans; and it must have been
    evaluated on this clinic's frozen test set.
    """
    from mlcore.models import ModelVersionLifecycle

    lifecycle = ModelVersionLifecycle.objects.filter(model_version=model_version).first()
    evaluation = (lifecycle.evaluation if lifecycle else None) or {}
    clinic = (lifecycle.clinic_evaluation if lifecycle else None) or {}
    minimum = deploy_min_test_per_class()
    problems = []
    if not evaluation.get("n"):
        problems.append("it has no test report")
    else:
        problems += _test_set_problems(evaluation, name="its test set", minimum=minimum)
    if not clinic.get("n"):
        problems.append("it was never evaluated on this clinic's frozen test set")
    else:
        problems += _test_set_problems(clinic, name="this clinic's frozen test set", minimum=minimum)
    return problems


def model_version_actions(*, model_version: ModelVersion, limit: int = 50):
    """The registry actions on this version, or that moved the deployment to or from it, newest first."""
    from django.db.models import Q

    from mlcore.models import ModelAction

    return (
        ModelAction.objects.filter(
            Q(model_version=model_version) | Q(from_version=model_version.version) | Q(to_version=model_version.version)
        )
        .select_related("model_version", "training_run")
        .order_by("-created_at", "-pk")[:limit]
    )


def model_action_list(*, limit: int = 20):
    from mlcore.models import ModelAction

    return ModelAction.objects.select_related("model_version").order_by("-created_at", "-pk")[:limit]


def model_job_list(*, model_version: ModelVersion | None = None, limit: int = 10):
    from mlcore.models import ModelJob

    jobs = ModelJob.objects.select_related("model_version", "requested_by")
    if model_version is not None:
        jobs = jobs.filter(model_version=model_version)
    return jobs.order_by("-created_at", "-pk")[:limit]


def training_queue_state(*, inspect_timeout: float | None = 0.5) -> dict:
    """What the training queue is doing: the training run or job running (and on which worker), those queued in
    order, and the workers that listen on the queue (asked over the broker; ``inspect_timeout`` None skips)."""
    from mlcore.models import ModelJob, TrainingRun

    active_runs = list(
        TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE).select_related("started_by", "model_version")
    )
    active_jobs = list(ModelJob.objects.filter(status__in=ModelJob.ACTIVE).select_related("model_version"))
    items = [
        {
            "kind": "training",
            "label": f"Training run #{run.pk}",
            "status": run.status,
            "worker": run.worker,
            "since": run.started_at or run.created_at,
            "progress": run.progress_percent,
            "url_name": "mlcore:training_progress",
            "url_arg": run.pk,
        }
        for run in active_runs
    ] + [
        {
            "kind": job.kind,
            "label": f"{job.get_kind_display()}: {job.model_version.version}",
            "status": job.status,
            "worker": job.worker,
            "since": job.started_at or job.created_at,
            "progress": job.progress_percent,
            "url_name": "mlcore:card",
            "url_arg": job.model_version.version,
        }
        for job in active_jobs
    ]
    items.sort(key=lambda item: item["since"])
    workers = None if inspect_timeout is None else training_queue_workers(timeout=inspect_timeout)
    return {
        "queue": training_queue_name(),
        "running": [i for i in items if i["status"] == "running"],
        "queued": [i for i in items if i["status"] == "queued"],
        "workers": workers,
        "workers_asked": inspect_timeout is not None,
    }


def training_queue_name() -> str:
    from django.conf import settings

    return getattr(settings, "CELERY_TRAINING_QUEUE", "training")


def training_queue_workers(*, timeout: float = 0.5) -> list[str] | None:
    """Hostnames of the Celery workers consuming the training queue; None when the broker could not be asked."""
    try:
        from celery import current_app

        replies = current_app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # the page must render whatever the broker does
        return None
    queue = training_queue_name()
    return sorted(host for host, queues in replies.items() if any(q.get("name") == queue for q in queues or []))


def model_version_list_with_lifecycle() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("lifecycle").order_by("-created_at")


def training_run_active():
    from mlcore.models import TrainingRun

    return TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE).select_related("started_by").first()


def training_run_list(*, limit: int = 20):
    from mlcore.models import TrainingRun

    return TrainingRun.objects.select_related("started_by", "model_version")[:limit]


SYNTHETIC_NOTICE = "synthetic demo model — not for clinical use"


def _figure(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _headline(figures: dict | None, *, source: str) -> dict | None:
    """The figures a reading's reader needs to weigh it, or None when the report holds none."""
    if not isinstance(figures, dict) or not figures.get("n"):
        return None
    folds = figures.get("folds") if source == "cross_validation" else None
    return {
        "accuracy": _figure(figures.get("accuracy")),
        "urgent_sensitivity": _figure(figures.get("urgent_sensitivity")),
        "urgent_specificity": _figure(figures.get("urgent_specificity")),
        "n": int(figures["n"]),
        "folds": int(folds) if isinstance(folds, int) and not isinstance(folds, bool) else None,
        "source": source,
    }


def _headline_text(headline: dict | None) -> str:
    if headline is None:
        return "not evaluated"

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    where = (
        f"{headline['folds']}-fold cross-validation"
        if headline["folds"]
        else ("cross-validation" if headline["source"] == "cross_validation" else "held-out test split")
    )
    return (
        f"accuracy {fmt(headline['accuracy'])} · urgent-referral sensitivity {fmt(headline['urgent_sensitivity'])}"
        f" · n = {headline['n']} ({where})"
    )


def model_version_notice(*, model_version: ModelVersion) -> str:
    """What a reading of this model must say in plain sight ("" for a clinical model); from the card, no query:
    "synthetic demo model — not for clinical use", or "<intended use> model — not for clinical use" when the card
    names an ``intended_use`` other than "clinical"."""
    if model_version.is_synthetic:
        return SYNTHETIC_NOTICE
    card = model_version.card if isinstance(model_version.card, dict) else {}
    intended_use = str(card.get("intended_use") or "").strip()[:40]
    return "" if intended_use.lower() in ("", "clinical") else f"{intended_use} model — not for clinical use"


def _provenance(model_version: ModelVersion, evaluation: dict | None) -> dict:
    card = model_version.card if isinstance(model_version.card, dict) else {}
    notice = model_version_notice(model_version=model_version)
    headline = _card_headline(card) or _headline(evaluation, source="test_split")
    return {
        "version": model_version.version,
        "synthetic": model_version.is_synthetic,
        "clinical_use": not notice,
        "notice": notice,
        "headline": headline,
        "headline_text": _headline_text(headline),
    }


def _card_headline(card) -> dict | None:
    """The card's cross-validation headline, else the held-out test split figures it recorded at training."""
    if not isinstance(card, dict):
        return None
    cross_validation = card.get("cross_validation")
    metrics = card.get("metrics")
    return _headline(
        cross_validation.get("headline") if isinstance(cross_validation, dict) else None, source="cross_validation"
    ) or _headline(metrics.get("test") if isinstance(metrics, dict) else None, source="test_split")


def _has_lifecycle(model_version: ModelVersion) -> bool:
    from mlcore.models import ModelVersionLifecycle

    try:
        model_version.lifecycle  # noqa: B018 (a cached lookup: raises when the row does not exist)
    except ModelVersionLifecycle.DoesNotExist:
        return False
    return True


def model_version_provenance(*, model_version: ModelVersion) -> dict:
    """What every reading says about the model that produced it: the version, whether it may be used clinically
    (not synthetic, and the card's ``intended_use`` — when it has one — is "clinical"), the notice to show when
    not, and the evaluation headline (the card's cross-validation headline, else its held-out test split).

    Readers weigh a reading by who made it: a demo model's CNV must never look like a clinical finding, and an
    evaluated model's figures are one hover away. At most one query (only for cards without figures).
    """
    return model_versions_provenance(model_versions=[model_version])[model_version.pk]


def model_versions_provenance(*, model_versions) -> dict[int, dict]:
    """``model_version_provenance`` of many versions (a page of readings), keyed by pk; at most one query, none
    when every card holds figures or the lifecycle rows came with ``select_related``."""
    from mlcore.models import ModelVersionLifecycle

    versions = {mv.pk: mv for mv in model_versions if mv is not None}
    evaluations: dict[int, dict] = {}
    missing = []
    for pk, mv in versions.items():
        if _card_headline(mv.card) is not None:
            continue
        if ModelVersion.lifecycle.is_cached(mv):
            evaluations[pk] = mv.lifecycle.evaluation if _has_lifecycle(mv) else {}
        else:
            missing.append(pk)
    if missing:
        evaluations.update(
            ModelVersionLifecycle.objects.filter(model_version_id__in=missing).values_list(
                "model_version_id", "evaluation"
            )
        )
    return {pk: _provenance(mv, evaluations.get(pk)) for pk, mv in versions.items()}
