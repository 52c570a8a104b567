"""Keeps each scan's review-queue sort keys (``Scan.review_pending``, ``queue_*``) in step with its readings
and decisions.

The queue orders by the most pressing reading (its class — urgent, AI unsure, routine, observation, not an OCT
image — then the least certain) and counts waiting scans per class; computed per request that means ranking every
scan's readings, which does not scale to a clinic's archive. So the two services that change the answer — storing
readings (``scans.classification``) and recording a decision (``scans.review``) — call
``scan_review_queue_refresh`` in their transaction, and the queue pages and counts over one partial index.
"""

from __future__ import annotations

from django.db.models import BooleanField, Case, CharField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from mlcore.labels import Urgency

from .models import DEFERRED, UNRECOGNISED, AiStatus, Prediction, Review, Scan

URGENCY_ORDER = (Urgency.URGENT, Urgency.ROUTINE, Urgency.OBSERVATION)
# The queue's classes in order. A deferred reading (the AI could not tell) may hide anything, urgent disease
# included, so it comes right after the urgent ones whatever its label; a refused image (not an OCT B-scan) is no
# diagnosis at all and waits last. ``Scan.queue_urgency`` holds the class, ``queue_urgency_rank`` its index.
QUEUE_CLASSES = (Urgency.URGENT.value, DEFERRED, Urgency.ROUTINE.value, Urgency.OBSERVATION.value, UNRECOGNISED)


def queue_class(*, urgency: str, deferred: bool, recognised: bool) -> str:
    if not recognised:
        return UNRECOGNISED
    return DEFERRED if deferred else urgency


def urgency_rank(urgency: str) -> int:
    """The queue class's place (0 urgent, 1 deferred, 2 routine, 3 observation, 4 unrecognised); unknown last."""
    return QUEUE_CLASSES.index(urgency) if urgency in QUEUE_CLASSES else len(QUEUE_CLASSES)


def queue_class_expression() -> Case:
    """``queue_class`` of a Prediction row, in SQL."""
    return Case(
        When(recognised=False, then=Value(UNRECOGNISED)),
        When(deferred=True, then=Value(DEFERRED)),
        default=F("urgency"),
        output_field=CharField(),
    )


def urgency_rank_expression(field: str | None = None) -> Case:
    """The rank of the queue class held in ``field``; with no field, of a Prediction row's own class."""
    if field is None:
        whens = [
            When(recognised=False, then=Value(QUEUE_CLASSES.index(UNRECOGNISED))),
            When(deferred=True, then=Value(QUEUE_CLASSES.index(DEFERRED))),
            *[When(urgency=urgency.value, then=Value(QUEUE_CLASSES.index(urgency.value))) for urgency in URGENCY_ORDER],
        ]
    else:
        whens = [When(**{field: name}, then=Value(rank)) for rank, name in enumerate(QUEUE_CLASSES)]
    return Case(*whens, default=Value(len(QUEUE_CLASSES)), output_field=IntegerField())


def most_pressing_predictions(scan_ref) -> QuerySet[Prediction]:
    """A scan's readings, most pressing class then most uncertain first (a volume's worst frame decides its place)."""
    return (
        Prediction.objects.filter(scan=scan_ref)
        .annotate(rank=urgency_rank_expression())
        .order_by("rank", "-uncertainty", "-created_at", "pk")
    )


def scan_review_queue_refresh(*, scan_id: int) -> None:
    """Recompute the scan's queue keys from its readings and decisions (idempotent; three small queries)."""
    pressing = (
        most_pressing_predictions(scan_id).values("pk", "urgency", "deferred", "recognised", "uncertainty").first()
    )
    kind = queue_class(**{k: pressing[k] for k in ("urgency", "deferred", "recognised")}) if pressing else ""
    since = (
        Prediction.objects.filter(scan_id=scan_id).order_by("created_at").values_list("created_at", flat=True).first()
    )
    decided = Review.objects.filter(scan_id=scan_id, is_second_opinion=False).exists()
    fields = {
        "queue_prediction_id": pressing["pk"] if pressing else None,
        "queue_urgency": kind,
        "queue_urgency_rank": urgency_rank(kind) if pressing else None,
        "queue_uncertainty": pressing["uncertainty"] if pressing else None,
        "queue_since": since,
    }
    Scan.objects.filter(pk=scan_id).update(
        review_pending=Case(
            When(ai_status=AiStatus.CLASSIFIED, then=Value(bool(pressing) and not decided)),
            default=Value(False),
            output_field=BooleanField(),
        ),
        **fields,
    )


def scans_review_queue_refresh_all(scans: QuerySet[Scan] | None = None) -> int:
    """Recompute the keys of many scans in one UPDATE (bulk imports, seeding, repairs); same rule as above."""
    from django.db.models import Exists, OuterRef, Subquery

    pressing = most_pressing_predictions(OuterRef("pk"))
    first = Prediction.objects.filter(scan=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
    decided = Review.objects.filter(scan=OuterRef("pk"), is_second_opinion=False)
    scans = Scan.objects.all() if scans is None else scans
    updated = scans.update(
        queue_prediction_id=Subquery(pressing.values("pk")[:1]),
        queue_urgency=Coalesce(
            Subquery(pressing.annotate(kind=queue_class_expression()).values("kind")[:1]), Value("")
        ),
        queue_uncertainty=Subquery(pressing.values("uncertainty")[:1]),
        queue_since=Subquery(first),
        review_pending=Case(
            When(Q(ai_status=AiStatus.CLASSIFIED) & Exists(pressing) & ~Exists(decided), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )
    scans.update(queue_urgency_rank=urgency_rank_expression("queue_urgency"))
    scans.filter(queue_prediction__isnull=True).update(queue_urgency_rank=None)
    return updated
