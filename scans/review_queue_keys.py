"""Keeps each scan's review-queue sort keys (``Scan.review_pending``, ``queue_*``) in step with its readings
and decisions.

The queue orders by the most pressing reading (most urgent, then least certain) and counts waiting scans per
urgency; computed per request that means ranking every scan's readings, which does not scale to a clinic's
archive. So the two services that change the answer — storing readings (``scans.classification``) and recording
a decision (``scans.review``) — call ``scan_review_queue_refresh`` in their transaction, and the queue pages and
counts over one partial index.
"""

from __future__ import annotations

from django.db.models import BooleanField, Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from mlcore.labels import Urgency

from .models import AiStatus, Prediction, Review, Scan

URGENCY_ORDER = (Urgency.URGENT, Urgency.ROUTINE, Urgency.OBSERVATION)


def urgency_rank(urgency: str) -> int:
    """0 for urgent, 1 routine, 2 observation; anything unknown sorts last."""
    values = [u.value for u in URGENCY_ORDER]
    return values.index(urgency) if urgency in values else len(values)


def urgency_rank_expression(field: str = "urgency") -> Case:
    whens = [When(**{field: urgency.value}, then=Value(rank)) for rank, urgency in enumerate(URGENCY_ORDER)]
    return Case(*whens, default=Value(len(URGENCY_ORDER)), output_field=IntegerField())


def most_pressing_predictions(scan_ref) -> QuerySet[Prediction]:
    """A scan's readings, most urgent then most uncertain first (a volume's worst frame decides its place)."""
    return (
        Prediction.objects.filter(scan=scan_ref)
        .annotate(rank=urgency_rank_expression())
        .order_by("rank", "-uncertainty", "-created_at", "pk")
    )


def scan_review_queue_refresh(*, scan_id: int) -> None:
    """Recompute the scan's queue keys from its readings and decisions (idempotent; three small queries)."""
    pressing = most_pressing_predictions(scan_id).values("pk", "urgency", "uncertainty").first()
    since = (
        Prediction.objects.filter(scan_id=scan_id).order_by("created_at").values_list("created_at", flat=True).first()
    )
    decided = Review.objects.filter(scan_id=scan_id, is_second_opinion=False).exists()
    fields = {
        "queue_prediction_id": pressing["pk"] if pressing else None,
        "queue_urgency": pressing["urgency"] if pressing else "",
        "queue_urgency_rank": urgency_rank(pressing["urgency"]) if pressing else None,
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
        queue_urgency=Coalesce(Subquery(pressing.values("urgency")[:1]), Value("")),
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
