"""Clinic admin pages for the model lifecycle: versions, model cards, deploy/rollback, training with progress.

Thin: every change goes through ``mlcore.services``; pictures are drawn from the stored evaluation on request.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from mlcore.card_figures import card_sections
from mlcore.exceptions import ModelVersionUnavailable, TrainingBusy, TrainingParamsInvalid
from mlcore.forms import TrainingStartForm
from mlcore.models import ModelVersion, ModelVersionLifecycle, TrainingRun
from mlcore.selectors import (
    model_version_deployed,
    model_version_list_with_lifecycle,
    shadow_agreement_report,
    training_run_active,
    training_run_list,
)
from mlcore.services import (
    model_version_deploy,
    model_version_gate,
    model_version_rollback,
    model_version_shadow_set,
    training_run_cancel,
    training_run_request,
)

VIEW, DEPLOY, TRAIN = "mlcore.view_modelversion", "mlcore.deploy_modelversion", "mlcore.start_trainingrun"


def _version_or_404(version: str) -> ModelVersion:
    return get_object_or_404(ModelVersion.objects.select_related("lifecycle"), version=version)


def _lifecycle(model_version: ModelVersion) -> ModelVersionLifecycle | None:
    try:
        return model_version.lifecycle
    except ModelVersionLifecycle.DoesNotExist:
        return None


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def model_list(request):
    context = {
        "versions": model_version_list_with_lifecycle(),
        "deployed": model_version_deployed(),
        "active_run": training_run_active(),
        "runs": training_run_list(limit=10),
        "form": TrainingStartForm(),
        "nav": "models",
    }
    return render(request, "mlcore/list.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def model_card(request, version: str):
    model_version = _version_or_404(version)
    lifecycle = _lifecycle(model_version)
    evaluation = lifecycle.evaluation if lifecycle else {}
    context = {
        "mv": model_version,
        "card": model_version.card,
        "lifecycle": lifecycle,
        "evaluation": evaluation,
        "per_class": (evaluation or {}).get("per_class", {}),
        "shadow": shadow_agreement_report(candidate=model_version),
        "run": TrainingRun.objects.filter(model_version=model_version).first(),
        "nav": "models",
        **card_sections(model_version.card),
    }
    return render(request, "mlcore/card.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def model_figure(request, version: str, figure: str):
    from mlcore.evaluation import confusion_matrix_png, reliability_png

    model_version = _version_or_404(version)
    lifecycle = _lifecycle(model_version)
    evaluation = lifecycle.evaluation if lifecycle else {}
    if not evaluation or not evaluation.get("n"):
        raise Http404("This version has no evaluation report")
    if figure == "confusion":
        png = confusion_matrix_png(evaluation["confusion_matrix"], classes=evaluation["classes"])
    elif figure == "reliability":
        png = reliability_png(evaluation["reliability"], ece=evaluation.get("ece"))
    else:
        raise Http404("Unknown figure")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@permission_required(DEPLOY, raise_exception=True)
@require_POST
def model_deploy(request, version: str):
    model_version = _version_or_404(version)
    try:
        model_version_deploy(model_version=model_version)
    except ModelVersionUnavailable as exc:
        messages.error(request, f"Deploy refused: {exc}")
    else:
        messages.success(request, f"{model_version.version} is now deployed.")
    return redirect("mlcore:card", version=model_version.version)


@login_required
@permission_required(DEPLOY, raise_exception=True)
@require_POST
def model_rollback(request):
    try:
        deployed = model_version_rollback()
    except ModelVersionUnavailable as exc:
        messages.error(request, f"Rollback failed: {exc}")
    else:
        messages.success(request, f"Rolled back: {deployed.version} is deployed again.")
    return redirect("mlcore:list")


@login_required
@permission_required(DEPLOY, raise_exception=True)
@require_POST
def model_shadow(request, version: str):
    model_version = _version_or_404(version)
    shadow = request.POST.get("shadow") == "on"
    try:
        model_version_shadow_set(model_version=model_version, shadow=shadow)
    except ModelVersionUnavailable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Shadow mode {'on' if shadow else 'off'} for {model_version.version}.")
    return redirect("mlcore:card", version=model_version.version)


@login_required
@permission_required(DEPLOY, raise_exception=True)
@require_POST
def model_gate(request, version: str):
    model_version = _version_or_404(version)
    if model_version.status != ModelVersion.Status.CANDIDATE:
        messages.error(request, "Only a candidate can be compared with the deployed model.")
    else:
        decision = model_version_gate(candidate=model_version)
        (messages.success if decision.passed else messages.warning)(request, f"Gate: {decision.reason}")
    return redirect("mlcore:card", version=model_version.version)


@login_required
@permission_required(TRAIN, raise_exception=True)
@require_POST
def training_start(request):
    form = TrainingStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Training not started: " + "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("mlcore:list")
    try:
        run = training_run_request(params=form.params(), trigger=TrainingRun.Trigger.MANUAL, started_by=request.user)
    except (TrainingBusy, TrainingParamsInvalid) as exc:
        messages.error(request, f"Training not started: {exc}")
    else:
        messages.success(request, f"Training run #{run.pk} queued.")
    return redirect("mlcore:list")


@login_required
@permission_required(TRAIN, raise_exception=True)
@require_POST
def training_cancel(request, pk: int):
    run = training_run_cancel(run=get_object_or_404(TrainingRun, pk=pk))
    if request.headers.get("HX-Request"):
        return render(request, "mlcore/partials/training_progress.html", {"run": run})
    messages.info(request, f"Training run #{run.pk}: cancellation requested.")
    return redirect("mlcore:list")


@login_required
@permission_required(TRAIN, raise_exception=True)
@require_GET
def training_progress(request, pk: int):
    run = get_object_or_404(TrainingRun.objects.select_related("model_version", "started_by"), pk=pk)
    return render(request, "mlcore/partials/training_progress.html", {"run": run})
