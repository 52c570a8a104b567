"""Review reads: the doctor's queue, a scan's decisions and history, training labels, agreement statistics.

Every list takes the user and starts from ``scans.access.scans_visible_to``, so the queue, dashboards and
exports show only patients the user may see. Lists run a fixed number of queries whatever their length.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from mlcore.labels import Urgency

from .access import scans_visible_to
from .models import AiStatus, Prediction, Review, ReviewDecision, Scan, SecondOpinionRequest

URGENCY_ORDER = (Urgency.URGENT, Urgency.ROUTINE, Urgency.OBSERVATION)
DEFAULT_TARGET_HOURS = {"urgent": 24, "routine": 168, "observation": 720}


def review_target_hours() -> dict[str, float]:
    """How long a reading of each urgency may wait for a doctor (REVIEW_TARGET_HOURS overrides per urgency)."""
    return {**DEFAULT_TARGET_HOURS, **(getattr(settings, "REVIEW_TARGET_HOURS", None) or {})}


def _urgency_rank(field: str = "urgency") -> Case:
    whens = [When(**{field: urgency.value}, then=Value(rank)) for rank, urgency in enumerate(URGENCY_ORDER)]
    return Case(*whens, default=Value(len(URGENCY_ORDER)), output_field=IntegerField())


def _most_pressing_predictions(scan_ref) -> QuerySet[Prediction]:
    """A scan's readings, most urgent then most uncertain first (a volume's worst frame decides its place)."""
    return (
        Prediction.objects.filter(scan=scan_ref)
        .annotate(rank=_urgency_rank())
        .order_by("rank", "-uncertainty", "-created_at", "pk")
    )


def scan_prediction_for_review(*, scan: Scan) -> Prediction | None:
    """The reading a decision is about: of the newest model version's readings, the most pressing frame."""
    newest = scan.predictions.order_by("-created_at", "-pk").values("model_version_id")[:1]
    return (
        _most_pressing_predictions(scan.pk)
        .filter(model_version_id=Subquery(newest))
        .select_related("model_version")
        .first()
    )


@dataclass(frozen=True)
class QueueItem:
    scan: Scan
    prediction_id: int
    label: str
    urgency: str
    uncertainty: float
    needs_careful_review: bool
    queued_at: dt.datetime
    waiting: dt.timedelta
    target_hours: float
    second_opinion: bool = False

    @property
    def overdue(self) -> bool:
        return self.waiting > dt.timedelta(hours=self.target_hours)

    @property
    def waiting_hours(self) -> float:
        return self.waiting.total_seconds() / 3600


def _queue_queryset(user) -> QuerySet[Scan]:
    pressing = _most_pressing_predictions(OuterRef("pk"))
    primary = Review.objects.filter(scan=OuterRef("pk"), is_second_opinion=False)
    asked = SecondOpinionRequest.objects.filter(scan=OuterRef("pk"), colleague=user, review__isnull=True)
    return (
        scans_visible_to(user, action="review")
        .filter(ai_status=AiStatus.CLASSIFIED, patient__is_archived=False)
        .annotate(
            q_prediction=Subquery(pressing.values("pk")[:1]),
            q_label=Subquery(pressing.values("label")[:1]),
            q_urgency=Subquery(pressing.values("urgency")[:1]),
            q_uncertainty=Subquery(pressing.values("uncertainty")[:1]),
            q_careful=Subquery(pressing.values("needs_careful_review")[:1]),
            q_queued_at=Subquery(
                Prediction.objects.filter(scan=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
            ),
            q_reviewed=Exists(primary),
            q_asked=Exists(asked),
        )
        .filter(q_prediction__isnull=False)
        .filter(Q(q_asked=True) | Q(q_reviewed=False))
        .annotate(q_rank=_urgency_rank("q_urgency"))
        .select_related("patient")
        .order_by("-q_asked", "q_rank", "-q_uncertainty", "q_queued_at", "pk")
    )


def review_queue(*, user, now: dt.datetime | None = None) -> list[QueueItem]:
    """Unreviewed readings the user may decide (and second opinions asked of them, first): urgency, then
    uncertainty (least certain first), then longest waiting. One query."""
    now = now or timezone.now()
    targets = review_target_hours()
    items = []
    for scan in _queue_queryset(user):
        items.append(
            QueueItem(
                scan=scan,
                prediction_id=scan.q_prediction,
                label=scan.q_label,
                urgency=scan.q_urgency,
                uncertainty=scan.q_uncertainty,
                needs_careful_review=scan.q_careful,
                queued_at=scan.q_queued_at,
                waiting=now - scan.q_queued_at,
                target_hours=float(targets.get(scan.q_urgency, targets["routine"])),
                second_opinion=scan.q_asked,
            )
        )
    return items


def review_queue_next(*, user, after: Scan | None = None) -> Scan | None:
    """The next scan to open after deciding ``after`` (the queue's head once that one has left it)."""
    for item in review_queue(user=user):
        if after is None or item.scan.pk != after.pk:
            return item.scan
    return None


def review_queue_counts(*, user, now: dt.datetime | None = None) -> dict:
    """Doctor dashboard figures: waiting per urgency and overdue ones."""
    items = review_queue(user=user, now=now)
    by_urgency = {urgency.value: 0 for urgency in URGENCY_ORDER}
    for item in items:
        by_urgency[item.urgency] = by_urgency.get(item.urgency, 0) + 1
    return {
        "total": len(items),
        "by_urgency": by_urgency,
        "overdue": [item for item in items if item.overdue],
        "second_opinions": sum(1 for item in items if item.second_opinion),
    }


def scan_reviews(*, scan: Scan) -> list[Review]:
    """The primary decision first, then second opinions; ``disagrees`` marks opinions that differ from it."""
    reviews = sorted(
        Review.objects.filter(scan=scan).select_related("reviewer", "model_version"),
        key=lambda r: (r.is_second_opinion, r.created_at),
    )
    primary = next((r for r in reviews if not r.is_second_opinion), None)
    for review in reviews:
        review.disagrees = bool(
            primary is not None
            and review.is_second_opinion
            and (review.decision, review.label) != (primary.decision, primary.label)
        )
    return reviews


def reviews_disagree(reviews: list[Review]) -> bool:
    return any(getattr(review, "disagrees", False) for review in reviews)


def scan_eye_history(*, scan: Scan) -> list[Scan]:
    """The patient's other scans of the same eye, each with its decision (``primary_reviews``), two queries."""
    return list(
        Scan.objects.filter(patient_id=scan.patient_id, eye=scan.eye)
        .exclude(pk=scan.pk)
        .order_by("-acquired_on", "-uploaded_at", "-pk")
        .prefetch_related(
            Prefetch(
                "reviews",
                queryset=Review.objects.filter(is_second_opinion=False).select_related("reviewer"),
                to_attr="primary_reviews",
            )
        )
    )


def scans_with_decision(scans: QuerySet[Scan]) -> QuerySet[Scan]:
    """Annotate each scan with its decision of record (``decision_code``, ``decision_label``) in the same query,
    so the gallery and the timeline stay one query however many scans."""
    primary = Review.objects.filter(scan=OuterRef("pk"), is_second_opinion=False)
    return scans.annotate(
        decision_code=Subquery(primary.values("decision")[:1]), decision_label=Subquery(primary.values("label")[:1])
    )


def decision_text(scan: Scan) -> str:
    """'Corrected DME', 'Approved CNV', 'Ungradable (image quality)' or '' for an annotated scan."""
    code = getattr(scan, "decision_code", None)
    if not code:
        return ""
    label = getattr(scan, "decision_label", "") or ""
    return f"{ReviewDecision(code).label} {label}".strip()


def reviewed_training_labels() -> QuerySet[Review]:
    """Approved and corrected decisions of record: the clinic's training labels, with reviewer and time."""
    return (
        Review.objects.filter(is_second_opinion=False, decision__in=[ReviewDecision.APPROVED, ReviewDecision.CORRECTED])
        .select_related("scan", "prediction", "reviewer")
        .order_by("created_at", "pk")
    )


def reviews_recent(*, user, limit: int = 10) -> list[Review]:
    return list(
        Review.objects.filter(reviewer=user)
        .select_related("scan", "model_version")
        .order_by("-created_at", "-pk")[:limit]
    )


def reviews_for_export(*, user) -> QuerySet[Review]:
    """Decisions the user may export: their visible patients only."""
    return (
        Review.objects.filter(scan__in=scans_visible_to(user, action="export"))
        .select_related("scan", "scan__patient", "model_version", "reviewer")
        .order_by("created_at", "pk")
    )
