"""Clinic admin pages for the model lifecycle: versions, model cards, deploy/rollback, training with progress.

Thin: every change goes through ``mlcore.services`` (which records it as a clinical action, with the signed-in
user); pictures are drawn from the stored evaluation on request. Gating and evaluation are queued as jobs for
the training worker and followed with htmx; nothing here scores a model inside the request.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mlcore.card_figures import card_sections
from mlcore.exceptions import ModelVersionUnavailable, TrainingBusy, TrainingParamsInvalid
from mlcore.forms import DeployForm, ReasonForm, TrainingStartForm
from mlcore.models import ModelJob, ModelVersion, ModelVersionLifecycle, TrainingRun
from mlcore.page_sections import model_page_sections
from mlcore.selectors import (
    model_action_list,
    model_job_list,
    model_version_actions,
    model_version_deploy_problems,
    model_version_deployed,
    model_version_list_with_lifecycle,
    model_version_previous,
    shadow_agreement_report,
    shadow_candidate_current,
    training_queue_state,
    training_run_active,
    training_run_list,
)
from mlcore.services import (
    model_version_deploy,
    model_version_evaluation_request,
    model_version_gate_request,
    model_version_retire,
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


def _shadow_context() -> dict:
    candidate = shadow_candidate_current()
    return {
        "shadow_candidate": candidate,
        "shadow_report": shadow_agreement_report(candidate=candidate) if candidate else None,
    }


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def model_list(request):
    versions = model_version_list_with_lifecycle()
    context = {
        "versions": versions,
        "sections": model_page_sections(request=request, versions=[mv.version for mv in versions]),
        "deployed": model_version_deployed(),
        "previous": model_version_previous(),
        "active_run": training_run_active(),
        "runs": training_run_list(limit=10),
        "actions": model_action_list(limit=15),
        "jobs": model_job_list(limit=5),
        # The workers are asked by the partial's first poll, not here: the page never waits for the broker.
        "queue": training_queue_state(inspect_timeout=None),
        "form": TrainingStartForm(),
        "nav": "models",
        **_shadow_context(),
    }
    return render(request, "mlcore/list.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def queue_state(request):
    """The training queue (running, queued, its workers) and the shadow agreement, polled by the models page."""
    context = {"queue": training_queue_state(), **_shadow_context()}
    return render(request, "mlcore/partials/queue_state.html", context)


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
        "clinic_evaluation": (lifecycle.clinic_evaluation if lifecycle else None) or {},
        "per_class": (evaluation or {}).get("per_class", {}),
        "shadow": shadow_agreement_report(candidate=model_version),
        "run": TrainingRun.objects.filter(model_version=model_version).first(),
        "actions": model_version_actions(model_version=model_version),
        "jobs": model_job_list(model_version=model_version),
        "deploy_problems": model_version_deploy_problems(model_version=model_version),
        "retire_form": ReasonForm(),
        "sections": model_page_sections(request=request, versions=[model_version.version]),
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
@require_http_methods(["GET", "POST"])
def model_deploy(request, version: str):
    """GET: what would change (deployed now → this version, the gate's comparison, the checks); POST: deploy."""
    model_version = _version_or_404(version)
    problems = model_version_deploy_problems(model_version=model_version)
    form = DeployForm(request.POST or None, problems=problems)
    if request.method == "POST" and form.is_valid():
        try:
            model_version_deploy(
                model_version=model_version,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                override_reason=form.cleaned_data.get("override_reason", ""),
                via="web",
            )
        except ModelVersionUnavailable as exc:
            messages.error(request, str(exc) if str(exc).startswith("Deploy") else f"Deploy refused: {exc}")
        else:
            messages.success(request, f"{model_version.version} is now deployed.")
            return redirect("mlcore:card", version=model_version.version)
    lifecycle = _lifecycle(model_version)
    context = {
        "mv": model_version,
        "lifecycle": lifecycle,
        "deployed": model_version_deployed(),
        "problems": problems,
        "form": form,
        "gate": (lifecycle.gating_report if lifecycle else None) or {},
        "clinic_evaluation": (lifecycle.clinic_evaluation if lifecycle else None) or {},
        "nav": "models",
    }
    return render(request, "mlcore/deploy_confirm.html", context)


@login_required
@permission_required(DEPLOY, raise_exception=True)
@require_http_methods(["GET", "POST"])
def model_rollback(request):
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deployed = model_version_rollback(actor=request.user, reason=form.cleaned_data["reason"], via="web")
        except ModelVersionUnavailable as exc:
            messages.error(request, f"Rollback failed: {exc}")
        else:
            messages.success(request, f"Rolled back: {deployed.version} is deployed again.")
        return redirect("mlcore:list")
    context = {
        "form": form,
        "deployed": model_version_deployed(),
        "previous": model_version_previous(),
        "nav": "models",
    }
    return render(request, "mlcore/rollback_confirm.html", context)


@login_required
@permission_required(DEPLOY, raise_exception=True)
@require_POST
def model_retire(request, version: str):
    model_version = _version_or_404(version)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not retired: write the reason.")
        return redirect("mlcore:card", version=model_version.version)
    try:
        model_version_retire(
            model_version=model_version, actor=request.user, reason=form.cleaned_data["reason"], via="web"
        )
    except ModelVersionUnavailable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{model_version.version} is retired.")
    return redirect("mlcore:card", version=model_version.version)


@login_required
@permission_required(DEPLOY, raise_exception=True)
@require_POST
def model_shadow(request, version: str):
    model_version = _version_or_404(version)
    shadow = request.POST.get("shadow") == "on"
    try:
        model_version_shadow_set(
            model_version=model_version,
            shadow=shadow,
            actor=request.user,
            via="web",
            reason=request.POST.get("reason", "").strip(),
        )
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
    try:
        job = model_version_gate_request(model_version=model_version, actor=request.user, via="web")
    except ModelVersionUnavailable as exc:
        messages.error(request, str(exc))
    else:
        messages.info(
            request, f"Comparison with the deployed model queued (job #{job.pk}); it runs on the training worker."
        )
    return redirect("mlcore:card", version=model_version.version)


@login_required
@permission_required(DEPLOY, raise_exception=True)
@require_POST
def model_evaluate(request, version: str):
    """Evaluate on this clinic's frozen test set, in the background."""
    model_version = _version_or_404(version)
    try:
        job = model_version_evaluation_request(model_version=model_version, actor=request.user, via="web")
    except ModelVersionUnavailable as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Evaluation on the clinic's test set queued (job #{job.pk}).")
    return redirect("mlcore:card", version=model_version.version)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def job_progress(request, pk: int):
    job = get_object_or_404(ModelJob.objects.select_related("model_version", "requested_by"), pk=pk)
    return render(request, "mlcore/partials/job_progress.html", {"job": job})


@login_required
@permission_required(TRAIN, raise_exception=True)
@require_POST
def training_start(request):
    form = TrainingStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Training not started: " + "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("mlcore:list")
    try:
        run = training_run_request(
            params=form.params(), trigger=TrainingRun.Trigger.MANUAL, started_by=request.user, via="web"
        )
    except (TrainingBusy, TrainingParamsInvalid) as exc:
        messages.error(request, f"Training not started: {exc}")
    else:
        messages.success(request, f"Training run #{run.pk} queued.")
    return redirect("mlcore:list")


@login_required
@permission_required(TRAIN, raise_exception=True)
@require_POST
def training_cancel(request, pk: int):
    run = training_run_cancel(run=get_object_or_404(TrainingRun, pk=pk), actor=request.user, via="web")
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
