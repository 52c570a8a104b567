"""The doctor's review pages: the queue, the review screen, the decision and second-opinion posts.

Only doctors (``scans.review_scan``) of the patient's care team (or with access to the patient) reach them;
everyone else gets 403, whichever scan they name.
"""

from __future__ import annotations

from auditlog.signals import accessed
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .access import action_require, patient_scans_require
from .heatmaps import heatmap_shown
from .models import AiStatus, Scan
from .review import review_decide, review_second_opinion_request
from .review_forms import ReviewDecisionForm, SecondOpinionForm
from .review_selectors import (
    QUEUE_PAGE_SIZE,
    ReviewQueueList,
    review_queue_next,
    review_target_hours,
    reviews_disagree,
    scan_eye_history,
    scan_prediction_for_review,
    scan_reviews,
)
from .selectors import scan_get, scan_predictions_current

PRIVATE = "private, no-store"


def _scan_for_review(request, uuid) -> Scan:
    action_require(user=request.user, action="review")
    try:
        scan = scan_get(uuid=uuid)
    except Scan.DoesNotExist as exc:
        raise Http404 from exc
    patient_scans_require(user=request.user, patient=scan.patient, action="review")
    return scan


def _errors(exc: ValidationError) -> list[str]:
    return exc.messages


@login_required
@require_GET
def review_queue_view(request):
    action_require(user=request.user, action="review")
    page = Paginator(ReviewQueueList(user=request.user), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"items": page.object_list, "page": page, "targets": review_target_hours(), "nav": "review"}
    response = render(request, "scans/review_queue.html", context)
    response["Cache-Control"] = PRIVATE
    return response


def _review_context(request, scan: Scan, *, form=None, opinion_form=None) -> dict:
    predictions = scan_predictions_current(scan=scan) if scan.ai_status == AiStatus.CLASSIFIED else []
    prediction = scan_prediction_for_review(scan=scan) if predictions else None
    reviews = scan_reviews(scan=scan)
    if scan.is_volume and prediction is not None:
        image_url = reverse("scans:frame", kwargs={"uuid": scan.uuid, "number": prediction.frame + 1})
        image_alt = f"Scan #{scan.pk}, frame {prediction.frame + 1}"
    else:
        image_url = reverse("scans:file", kwargs={"uuid": scan.uuid, "kind": "preview"})
        image_alt = f"Scan #{scan.pk}"
    mine = next((r for r in reviews if r.reviewer_id == request.user.pk), None)
    primary = next((r for r in reviews if not r.is_second_opinion), None)
    asked = scan.second_opinion_requests.filter(colleague=request.user, review__isnull=True).exists()
    return {
        "scan": scan,
        "patient": scan.patient,
        "predictions": predictions,
        "prediction": prediction,
        "image_url": image_url,
        "image_alt": image_alt,
        "heatmap": prediction if heatmap_shown(prediction) else None,
        "reviews": reviews,
        "disagreement": reviews_disagree(reviews),
        "history": scan_eye_history(scan=scan),
        "can_decide": prediction is not None and mine is None and (primary is None or asked),
        "second_opinion_asked": asked,
        "form": form or ReviewDecisionForm(),
        "opinion_form": opinion_form or SecondOpinionForm(requested_by=request.user),
        "can_retry": False,
        "nav": "review",
    }


@login_required
@require_GET
def review_scan_view(request, uuid):
    scan = _scan_for_review(request, uuid)
    accessed.send(sender=Scan, instance=scan)
    response = render(request, "scans/review.html", _review_context(request, scan))
    response["Cache-Control"] = PRIVATE
    return response


@login_required
@require_POST
def review_decide_view(request, uuid):
    scan = _scan_for_review(request, uuid)
    form = ReviewDecisionForm(request.POST)
    if form.is_valid():
        try:
            review_decide(
                scan=scan,
                reviewer=request.user,
                decision=form.cleaned_data["decision"],
                label=form.cleaned_data["label"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, _errors(exc))
        else:
            messages.success(request, f"Scan #{scan.pk}: decision saved.")
            following = review_queue_next(user=request.user, after=scan)
            if following is not None:
                return redirect("scans:review", uuid=following.uuid)
            messages.info(request, "The review queue is empty.")
            return redirect("scans:review_queue")
    return render(request, "scans/review.html", _review_context(request, scan, form=form), status=400)


@login_required
@require_POST
def review_second_opinion_view(request, uuid):
    scan = _scan_for_review(request, uuid)
    form = SecondOpinionForm(request.POST, requested_by=request.user)
    if form.is_valid():
        try:
            review_second_opinion_request(
                scan=scan,
                requested_by=request.user,
                colleague=form.cleaned_data["colleague"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, _errors(exc))
        else:
            messages.success(request, "Second opinion requested.")
            return redirect("scans:review", uuid=scan.uuid)
    return render(request, "scans/review.html", _review_context(request, scan, opinion_form=form), status=400)


@login_required
@require_GET
def review_next_view(request):
    action_require(user=request.user, action="review")
    following = review_queue_next(user=request.user)
    if following is None:
        messages.info(request, "The review queue is empty.")
        return redirect("scans:review_queue")
    return redirect("scans:review", uuid=following.uuid)
