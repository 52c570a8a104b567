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

from octclinic.form_errors import form_service_errors_add

from .access import action_require, patient_scans_require
from .heatmaps import heatmap_shown
from .models import AiStatus, Scan
from .review import review_decide, review_second_opinion_request
from .review_forms import QueueFilterForm, ReviewDecisionForm, SecondOpinionForm
from .review_selectors import (
    NO_FILTERS,
    QUEUE_COUNT_LIMIT,
    QUEUE_PAGE_SIZE,
    QueueFilters,
    ReviewQueueList,
    reading_disagreements,
    review_disagreements,
    review_queue_next,
    review_target_hours,
    reviews_disagree,
    scan_eye_history,
    scan_prediction_for_review,
    scan_reviews,
    scan_second_opinions,
    scans_with_readers,
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


def _queue_filters(request) -> tuple[QueueFilterForm, QueueFilters]:
    form = QueueFilterForm(request.GET or None)
    return form, form.filters() if form.is_bound and form.is_valid() else NO_FILTERS


@login_required
@require_GET
def review_queue_view(request):
    action_require(user=request.user, action="review")
    filter_form, filters = _queue_filters(request)
    queue = ReviewQueueList(user=request.user, filters=filters, count_limit=QUEUE_COUNT_LIMIT)
    page = Paginator(queue, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "items": page.object_list,
        "page": page,
        "targets": review_target_hours(),
        "filter_form": filter_form,
        "filtered": filters.active,
        "querystring": query.urlencode(),
        "count_capped": queue.count_capped,
        "nav": "review",
    }
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
    requests = scan_second_opinions(scan=scan)
    by_id = {review.pk: review for review in reviews}
    for asked_one in requests:  # the answer as scan_reviews marked it (disagrees, differs_from_ai)
        asked_one.answer = by_id.get(asked_one.review_id)
    asked = next((r for r in requests if r.colleague_id == request.user.pk and r.review_id is None), None)
    return {
        "scan": scan,
        "patient": scan.patient,
        "predictions": predictions,
        "prediction": prediction,
        "image_url": image_url,
        "image_alt": image_alt,
        "heatmap": prediction if heatmap_shown(prediction) else None,
        "reviews": reviews,
        "decision_of_record": primary,
        "disagreement": reviews_disagree(reviews),
        "disagreements": reading_disagreements(reviews=reviews, prediction=prediction),
        "opinion_requests": requests,
        "opinions_pending": [r for r in requests if r.review_id is None],
        "history": scan_eye_history(scan=scan),
        # The asked colleague answers with a second opinion; everyone else of the team may make the decision of
        # record while there is none (review.review_decide holds the same rule).
        "can_decide": prediction is not None and mine is None and (primary is None or asked is not None),
        "second_opinion_asked": asked,
        "can_ask": prediction is not None and asked is None and (mine is None or not mine.is_second_opinion),
        "form": form or ReviewDecisionForm(),
        "opinion_form": opinion_form or SecondOpinionForm(requested_by=request.user, scan=scan),
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
            review = review_decide(
                scan=scan,
                reviewer=request.user,
                decision=form.cleaned_data["decision"],
                label=form.cleaned_data["label"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            form_service_errors_add(form, exc)
        else:
            what = "second opinion" if review.is_second_opinion else "decision"
            messages.success(request, f"Scan #{scan.pk}: {what} saved.")
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
    form = SecondOpinionForm(request.POST, requested_by=request.user, scan=scan)
    if form.is_valid():
        try:
            review_second_opinion_request(
                scan=scan,
                requested_by=request.user,
                colleague=form.cleaned_data["colleague"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            form_service_errors_add(form, exc)
        else:
            messages.success(request, "Second opinion requested.")
            return redirect("scans:review", uuid=scan.uuid)
    return render(request, "scans/review.html", _review_context(request, scan, opinion_form=form), status=400)


@login_required
@require_GET
def review_disagreements_view(request):
    """Scans whose readers disagree (a second opinion against the decision of record or the AI, or the decision of
    record against the AI), newest first, of the doctor's patients."""
    action_require(user=request.user, action="review")
    page = Paginator(review_disagreements(user=request.user).select_related("patient"), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"scans": scans_with_readers(page.object_list), "page": page, "nav": "review"}
    response = render(request, "scans/review_disagreements.html", context)
    response["Cache-Control"] = PRIVATE
    return response


@login_required
@require_GET
def review_next_view(request):
    action_require(user=request.user, action="review")
    following = review_queue_next(user=request.user)
    if following is None:
        messages.info(request, "The review queue is empty.")
        return redirect("scans:review_queue")
    return redirect("scans:review", uuid=following.uuid)
