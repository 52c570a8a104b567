"""Review reads: the doctor's queue, a scan's decisions and history, training labels, agreement statistics.

Every list takes the user and starts from ``scans.access.scans_visible_to``, so the queue, dashboards and
exports show only patients the user may see. Lists run a fixed number of queries whatever their length; the
queue pages and counts over the sort keys ``scans.review_queue_keys`` keeps on each scan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from patients.models import Patient

from .access import scan_rows_visible_to, scans_visible_to
from .models import DEFERRED, UNRECOGNISED, AiStatus, Prediction, Review, ReviewDecision, Scan, SecondOpinionRequest
from .review_queue_keys import QUEUE_CLASSES, most_pressing_predictions

DEFAULT_TARGET_HOURS = {"urgent": 24, "routine": 168, "observation": 720}
QUEUE_PAGE_SIZE = 50
OVERDUE_LIST_LIMIT = 20


def review_target_hours() -> dict[str, float]:
    """How long a reading of each queue class may wait for a doctor (REVIEW_TARGET_HOURS overrides per urgency).

    A deferred reading gets the urgent target (the AI could not rule urgent disease out); an image not recognised
    as an OCT B-scan the routine one (someone must still look at what was uploaded).
    """
    targets = {**DEFAULT_TARGET_HOURS, **(getattr(settings, "REVIEW_TARGET_HOURS", None) or {})}
    targets.setdefault(DEFERRED, targets["urgent"])
    targets.setdefault(UNRECOGNISED, targets["routine"])
    return {name: targets[name] for name in QUEUE_CLASSES} | targets


def scan_prediction_for_review(*, scan: Scan) -> Prediction | None:
    """The reading a decision is about: of the newest model version's readings, the most pressing frame."""
    newest = scan.predictions.order_by("-created_at", "-pk").values("model_version_id")[:1]
    return (
        most_pressing_predictions(scan.pk)
        .filter(model_version_id=Subquery(newest))
        .select_related("model_version")
        .first()
    )


@dataclass(frozen=True)
class QueueItem:
    scan: Scan
    prediction_id: int
    label: str
    urgency: str  # the queue class: an urgency, "deferred" or "unrecognised"
    uncertainty: float
    needs_careful_review: bool
    queued_at: dt.datetime
    waiting: dt.timedelta
    target_hours: float
    second_opinion: bool = False
    prediction: Prediction | None = None  # with its model_version, for what the queue says about the reading

    @property
    def overdue(self) -> bool:
        return self.waiting > dt.timedelta(hours=self.target_hours)

    @property
    def waiting_hours(self) -> float:
        return self.waiting.total_seconds() / 3600


QUEUE_ORDER = ("queue_urgency_rank", F("queue_uncertainty").desc(), "queue_since", "pk")


def _reviewable(user) -> QuerySet[Scan]:
    # "not one of the (few) archived patients" rather than a join on every patient: the queue counts then come
    # from the partial index alone.
    archived = Patient.objects.filter(is_archived=True).values("pk")
    return scans_visible_to(user, action="review").exclude(patient__in=archived)


def _waiting(user) -> QuerySet[Scan]:
    """Scans without a decision of record, in queue order (served by ``scan_review_queue_idx``)."""
    return _reviewable(user).filter(review_pending=True).order_by(*QUEUE_ORDER)


def _asked(user) -> QuerySet[Scan]:
    """Classified scans whose second opinion was asked of this user and not yet given (a handful)."""
    asked = SecondOpinionRequest.objects.filter(colleague=user, review__isnull=True).values("scan_id")
    return (
        _reviewable(user)
        .filter(pk__in=asked, ai_status=AiStatus.CLASSIFIED, queue_prediction__isnull=False)
        .order_by(*QUEUE_ORDER)
    )


def _items(scans, *, now: dt.datetime, second_opinion: bool) -> list[QueueItem]:
    targets = review_target_hours()
    return [
        QueueItem(
            scan=scan,
            prediction_id=scan.queue_prediction_id,
            label=scan.queue_prediction.label,
            urgency=scan.queue_urgency,
            uncertainty=scan.queue_uncertainty,
            needs_careful_review=scan.queue_prediction.needs_careful_review,
            queued_at=scan.queue_since,
            waiting=now - scan.queue_since,
            target_hours=float(targets.get(scan.queue_urgency, targets["routine"])),
            second_opinion=second_opinion,
            prediction=scan.queue_prediction,
        )
        for scan in scans.select_related("patient", "queue_prediction__model_version")
    ]


def review_queue(*, user, now: dt.datetime | None = None, offset: int = 0, limit: int | None = None) -> list[QueueItem]:
    """Unreviewed readings the user may decide, second opinions asked of them first: urgency (a deferred reading
    right after the urgent ones, an image not recognised as OCT last), then uncertainty (least certain first), then
    longest waiting. ``offset``/``limit`` page it in SQL; two queries, and at most one more for the readings'
    model provenance (``item.prediction.provenance``)."""
    from .selectors import predictions_with_provenance

    now = now or timezone.now()
    asked = _items(_asked(user), now=now, second_opinion=True)
    asked_ids = [item.scan.pk for item in asked]
    items = asked[offset : None if limit is None else offset + limit]
    rest_offset = max(0, offset - len(asked))
    rest_limit = None if limit is None else limit - len(items)
    if rest_limit != 0:
        waiting = _waiting(user).exclude(pk__in=asked_ids)
        waiting = waiting[rest_offset:] if rest_limit is None else waiting[rest_offset : rest_offset + rest_limit]
        items = items + _items(waiting, now=now, second_opinion=False)
    predictions_with_provenance(item.prediction for item in items)
    return items


class ReviewQueueList:
    """The queue as a countable, sliceable sequence, so Django's ``Paginator`` (and DRF's page-number pagination)
    page it in SQL: ``count()`` is one COUNT, a page one LIMIT/OFFSET query."""

    def __init__(self, *, user, now: dt.datetime | None = None):
        self.user = user
        self.now = now or timezone.now()

    def count(self) -> int:
        asked = _asked(self.user)
        return asked.count() + _waiting(self.user).exclude(pk__in=asked.values("pk")).order_by().count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("The review queue is read a page (a slice) at a time.")
        start = key.start or 0
        limit = None if key.stop is None else max(0, key.stop - start)
        return review_queue(user=self.user, now=self.now, offset=start, limit=limit)


def review_queue_next(*, user, after: Scan | None = None) -> Scan | None:
    """The next scan to open after deciding ``after`` (the queue's head once that one has left it)."""
    for item in review_queue(user=user, limit=2):
        if after is None or item.scan.pk != after.pk:
            return item.scan
    return None


def review_queue_counts(*, user, now: dt.datetime | None = None) -> dict:
    """Doctor dashboard figures: waiting per urgency, overdue ones (counted in SQL; the most pressing listed),
    second opinions asked of the user."""
    now = now or timezone.now()
    targets = review_target_hours()
    asked = _items(_asked(user), now=now, second_opinion=True)
    asked_ids = [item.scan.pk for item in asked]
    waiting = _waiting(user).exclude(pk__in=asked_ids)
    # Filters on the rank (not the urgency text) so that PostgreSQL counts from scan_review_queue_idx alone.
    overdue_q = Q()
    for rank, name in enumerate(QUEUE_CLASSES):
        hours = float(targets.get(name, targets["routine"]))
        overdue_q |= Q(queue_urgency_rank=rank, queue_since__lt=now - dt.timedelta(hours=hours))
    figures = waiting.order_by().aggregate(
        total=Count("pk"),
        overdue=Count("pk", filter=overdue_q),
        **{name: Count("pk", filter=Q(queue_urgency_rank=rank)) for rank, name in enumerate(QUEUE_CLASSES)},
    )
    by_urgency = {name: figures[name] for name in QUEUE_CLASSES}
    for item in asked:
        by_urgency[item.urgency] = by_urgency.get(item.urgency, 0) + 1
    asked_overdue = [item for item in asked if item.overdue]
    overdue_list = asked_overdue + _items(
        waiting.filter(overdue_q)[: max(0, OVERDUE_LIST_LIMIT - len(asked_overdue))], now=now, second_opinion=False
    )
    return {
        "total": figures["total"] + len(asked),
        "by_urgency": by_urgency,
        "overdue": overdue_list,
        "overdue_count": figures["overdue"] + len(asked_overdue),
        "second_opinions": len(asked),
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
    """Annotate each scan with its decision of record (``decision_code``, ``decision_label`` and
    ``decision_ai_suggested``: whether the AI offered a label to decide on) in the same query, so the gallery and
    the timeline stay one query however many scans."""
    primary = Review.objects.filter(scan=OuterRef("pk"), is_second_opinion=False)
    suggested = ExpressionWrapper(Q(ai_recognised=True, ai_deferred=False), output_field=BooleanField())
    return scans.annotate(
        decision_code=Subquery(primary.values("decision")[:1]),
        decision_label=Subquery(primary.values("label")[:1]),
        decision_ai_suggested=Subquery(primary.annotate(suggested=suggested).values("suggested")[:1]),
    )


def decision_text(scan: Scan) -> str:
    """'Corrected DME', 'Approved CNV', 'Labelled DME', 'Ungradable (image quality)' or '' for an annotated scan.

    A label chosen where the AI suggested nothing (deferred, or not recognised as OCT) is stored as a correction
    but corrected nothing: it reads "Labelled", as ``Review.decision_display`` says on the review pages.
    """
    code = getattr(scan, "decision_code", None)
    if not code:
        return ""
    label = getattr(scan, "decision_label", "") or ""
    suggested = getattr(scan, "decision_ai_suggested", True)
    if code == ReviewDecision.CORRECTED and suggested is not None and not suggested:
        return f"Labelled {label}".strip()
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
        scan_rows_visible_to(Review.objects.all(), user, action="export")
        .select_related("scan", "scan__patient", "model_version", "reviewer", "prediction")
        .order_by("created_at", "pk")
    )
