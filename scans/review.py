"""Review actions: a doctor approves, corrects or marks ungradable a scan's AI reading, or asks a colleague.

Every action checks ``scans.access`` itself (not only the view): the review page, the admin's bulk action and
the API all end here, so none of them can skip the care-team rule or the doctors-only rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mlcore.labels import CLASSES

from .access import patient_scans_allowed, patient_scans_require
from .models import AiStatus, Prediction, Review, ReviewDecision, Scan, SecondOpinionRequest
from .review_queue_keys import scan_review_queue_refresh
from .review_selectors import scan_prediction_for_review, second_opinion_may_give, second_opinion_open_request


def _decision_label(*, decision: str, label: str, ai_label: str, suggests: bool = True) -> str:
    """The label of record. A reading the AI deferred or did not recognise suggests nothing to approve: the doctor
    names the label (stored as a correction, so it is a training label) or marks the scan ungradable."""
    if decision not in ReviewDecision.values:
        raise ValidationError({"decision": "Choose approve, correct or ungradable."})
    if decision == ReviewDecision.APPROVED and not suggests:
        raise ValidationError(
            {"decision": "The AI made no suggestion for this scan: choose the label or mark it ungradable."}
        )
    if decision == ReviewDecision.APPROVED:
        return ai_label
    if decision == ReviewDecision.UNGRADABLE:
        return ""
    label = (label or "").strip().upper()
    if label not in CLASSES:
        raise ValidationError({"label": f"Choose the correct label: one of {', '.join(CLASSES)}."})
    if suggests and label == ai_label:
        raise ValidationError({"label": "That is the AI's label: approve the reading instead of correcting it."})
    return label


def review_decide(
    *,
    scan: Scan,
    reviewer,
    decision: str,
    label: str = "",
    note: str = "",
    prediction: Prediction | None = None,
) -> Review:
    """Record a doctor's reading of the scan. One service for the review page, the admin and the API, with one rule:

    * a doctor with an open second-opinion request on the scan gives a **second opinion** (their own row,
      ``is_second_opinion``, answering the request) — whether or not the decision of record exists yet. It never
      becomes the decision of record, never takes the scan out of the queue, and is no training label;
    * anyone else of the patient's care team makes the **decision of record** (one per scan), which the doctor who
      asked for a second opinion stays free to make before or after the answer comes;
    * nobody reads the same scan twice.
    """
    patient_scans_require(user=reviewer, patient=scan.patient, action="review")
    if scan.ai_status != AiStatus.CLASSIFIED:
        raise ValidationError("This scan has no AI reading yet; it can be reviewed once it is classified.")
    if prediction is None:
        prediction = scan_prediction_for_review(scan=scan)
    if prediction is None or prediction.scan_id != scan.pk:
        raise ValidationError("This scan has no AI reading to review.")
    final_label = _decision_label(
        decision=decision, label=label, ai_label=prediction.label, suggests=prediction.suggests
    )
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationError({"note": "Keep the note under 2000 characters."})
    with transaction.atomic():
        request = (
            SecondOpinionRequest.objects.select_for_update()
            .filter(scan=scan, colleague=reviewer, review__isnull=True)
            .first()
        )
        if Review.objects.filter(scan=scan, reviewer=reviewer).exists():
            raise ValidationError("You have already reviewed this scan.")
        primary = Review.objects.select_for_update().filter(scan=scan, is_second_opinion=False).first()
        if request is None and primary is not None:
            raise ValidationError("This scan has already been reviewed.")
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    scan=scan,
                    prediction=prediction,
                    model_version_id=prediction.model_version_id,
                    ai_label=prediction.label,
                    ai_urgency=prediction.urgency,
                    ai_deferred=prediction.deferred,
                    ai_recognised=prediction.recognised,
                    decision=decision,
                    label=final_label,
                    note=note,
                    is_second_opinion=request is not None,
                    reviewer=reviewer,
                    queued_at=prediction.created_at,
                )
        except IntegrityError as exc:  # a colleague decided in the same instant
            raise ValidationError("This scan has just been reviewed by someone else.") from exc
        if request is None:
            scan_review_queue_refresh(scan_id=scan.pk)
        else:
            request.review = review
            request.answered_at = timezone.now()
            request.save(update_fields=["review", "answered_at"])
    return review


def review_second_opinion_request(*, scan: Scan, requested_by, colleague, note: str = "") -> SecondOpinionRequest:
    """Ask a colleague to read the scan too; the asking doctor stays the responsible reader (the decision of
    record is theirs to make). Who may be asked is ``review_selectors.second_opinion_colleagues`` (the form's
    choices too). A colleague outside the patient's care team is granted this one patient (a guardian object
    permission), so the request never needs clinic-wide access."""
    patient_scans_require(user=requested_by, patient=scan.patient, action="review")
    if colleague is None or colleague.pk == requested_by.pk:
        raise ValidationError({"colleague": "Choose a colleague other than yourself."})
    if second_opinion_open_request(scan=scan, user=requested_by) is not None:
        raise ValidationError("You were asked for a second opinion on this scan: give it rather than ask on.")
    if Review.objects.filter(scan=scan, reviewer=colleague).exists():
        raise ValidationError({"colleague": "This colleague has already reviewed the scan."})
    if SecondOpinionRequest.objects.filter(scan=scan, colleague=colleague).exists():
        raise ValidationError({"colleague": "This colleague has already been asked about this scan."})
    if not second_opinion_may_give(colleague=colleague, requested_by=requested_by, scan=scan):
        raise ValidationError({"colleague": "Only an active doctor can give a second opinion."})
    with transaction.atomic():
        if not patient_scans_allowed(user=colleague, patient=scan.patient, action="review"):
            from guardian.shortcuts import assign_perm

            assign_perm("patients.view_patient", colleague, scan.patient)
        try:
            with transaction.atomic():
                return SecondOpinionRequest.objects.create(
                    scan=scan, requested_by=requested_by, colleague=colleague, note=(note or "").strip()[:2000]
                )
        except IntegrityError as exc:
            raise ValidationError({"colleague": "This colleague has already been asked about this scan."}) from exc


def predictions_approve_bulk(*, predictions: Iterable[Prediction], reviewer) -> tuple[int, list[str]]:
    """The admin's "approve selected": each reading approved on its own, so one refusal stops none of the rest.

    Returns the number approved and one reason per skipped reading (ids only, never patient data).
    """
    approved, skipped = 0, []
    for prediction in predictions:
        try:
            review_decide(
                scan=prediction.scan, reviewer=reviewer, decision=ReviewDecision.APPROVED, prediction=prediction
            )
        except (ValidationError, PermissionDenied) as exc:
            reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else "not permitted"
            skipped.append(f"Prediction #{prediction.pk}: {reason}")
        else:
            approved += 1
    return approved, skipped
