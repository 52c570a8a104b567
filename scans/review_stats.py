"""Figures for the dashboards: scans per week, diagnoses, AI–doctor agreement per model version, turnaround.

All aggregate in the database (a fixed number of queries however many scans) and respect the user's reach.
Agreement counts primary decisions only, approved (agrees) against corrected (disagrees); ungradable scans
say nothing about the model's reading and are left out, and so are decisions on readings the AI deferred or did not
recognise as an OCT B-scan: it suggested nothing there, so the doctor's label neither agrees nor disagrees with it.
Turnaround is grouped by the queue class the reading waited in (``deferred`` and ``unrecognised`` beside the
urgencies), as the queue's targets are.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    Value,
    When,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from .access import scan_rows_visible_to, scans_visible_to
from .models import DEFERRED, UNRECOGNISED, AiStatus, Review, ReviewDecision


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _weeks(now: dt.datetime, weeks: int) -> list[dt.date]:
    this_week = _week_start(timezone.localdate(now))
    return [this_week - dt.timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]


def scans_per_week(*, user, weeks: int = 12, now: dt.datetime | None = None) -> list[tuple[dt.date, int]]:
    """Scans taken in per (local) week: the clinic's intake workload, whatever date the image itself carries."""
    now = now or timezone.now()
    starts = _weeks(now, weeks)
    first = dt.datetime.combine(starts[0], dt.time.min, tzinfo=timezone.get_current_timezone())
    rows = (
        scans_visible_to(user)
        .filter(uploaded_at__gte=first)
        .annotate(week=TruncWeek("uploaded_at"))
        .values_list("week")
        .annotate(n=Count("pk"))
        .values_list("week", "n")
    )
    counts: dict[dt.date, int] = {}
    for week, n in rows:
        day = _week_start(timezone.localdate(week) if isinstance(week, dt.datetime) else week)
        counts[day] = counts.get(day, 0) + n
    return [(start, counts.get(start, 0)) for start in starts]


def diagnosis_distribution(*, user, weeks: int = 12, now: dt.datetime | None = None) -> list[tuple[str, int]]:
    """Doctors' labels of record decided in the last ``weeks`` (the dashboard's window, like its other charts;
    ungradable as its own bar), most frequent first."""
    first = dt.datetime.combine(_weeks(now or timezone.now(), weeks)[0], dt.time.min, timezone.get_current_timezone())
    rows = (
        scan_rows_visible_to(Review.objects.all(), user)
        .filter(is_second_opinion=False, created_at__gte=first)
        .values_list("decision", "label")
        .annotate(n=Count("pk"))
        .values_list("decision", "label", "n")
    )
    totals: dict[str, int] = {}
    for decision, label, n in rows:
        key = "UNGRADABLE" if decision == ReviewDecision.UNGRADABLE else label
        totals[key] = totals.get(key, 0) + n
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class AgreementPoint:
    week: dt.date
    agreed: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.total if self.total else None


@dataclass(frozen=True)
class VersionAgreement:
    version: str
    points: list[AgreementPoint]
    agreed: int
    total: int
    drift: bool
    drift_reason: str

    @property
    def rate(self) -> float | None:
        return self.agreed / self.total if self.total else None


def agreement_by_model_version(*, weeks: int = 12, now: dt.datetime | None = None) -> list[VersionAgreement]:
    """Weekly agreement per model version, with a drift warning when the latest week with enough decisions
    falls below REVIEW_DRIFT_MIN_AGREEMENT or REVIEW_DRIFT_MAX_DROP under the version's earlier weeks.

    Clinic-wide on purpose (clinic admins watch the model, not patients): counts only, no patient data.
    """
    now = now or timezone.now()
    starts = _weeks(now, weeks)
    floor = float(getattr(settings, "REVIEW_DRIFT_MIN_AGREEMENT", 0.8))
    max_drop = float(getattr(settings, "REVIEW_DRIFT_MAX_DROP", 0.15))
    min_n = int(getattr(settings, "REVIEW_DRIFT_MIN_REVIEWS", 5))
    rows = (
        Review.objects.filter(
            is_second_opinion=False,
            model_version__isnull=False,
            decision__in=[ReviewDecision.APPROVED, ReviewDecision.CORRECTED],
            ai_deferred=False,
            ai_recognised=True,
            # A datetime bound (not created_at__date) so that review_created_idx serves it.
            created_at__gte=dt.datetime.combine(starts[0], dt.time.min, tzinfo=timezone.get_current_timezone()),
        )
        .annotate(week=TruncWeek("created_at"))
        .values_list("model_version__version", "week")
        .annotate(total=Count("pk"), agreed=Count("pk", filter=Q(decision=ReviewDecision.APPROVED)))
        .values_list("model_version__version", "week", "agreed", "total")
    )
    data: dict[str, dict[dt.date, tuple[int, int]]] = {}
    for version, week, agreed, total in rows:
        day = timezone.localdate(week) if isinstance(week, dt.datetime) else week
        day = _week_start(day)
        previous = data.setdefault(version, {}).get(day, (0, 0))
        data[version][day] = (previous[0] + agreed, previous[1] + total)
    result = []
    for version in sorted(data):
        points = [AgreementPoint(start, *data[version].get(start, (0, 0))) for start in starts]
        agreed = sum(p.agreed for p in points)
        total = sum(p.total for p in points)
        drift, reason = False, ""
        enough = [p for p in points if p.total >= min_n]
        if enough:
            latest = enough[-1]
            earlier = enough[:-1]
            if latest.rate < floor:
                drift, reason = (
                    True,
                    f"agreement {latest.rate:.0%} in the week of {latest.week:%d.%m.} is below {floor:.0%}",
                )
            elif earlier:
                baseline = sum(p.agreed for p in earlier) / sum(p.total for p in earlier)
                if baseline - latest.rate > max_drop:
                    drift = True
                    reason = (
                        f"agreement fell from {baseline:.0%} to {latest.rate:.0%} in the week of {latest.week:%d.%m.}"
                    )
        result.append(VersionAgreement(version, points, agreed, total, drift, reason))
    return result


class _HoursPercentile(Aggregate):
    """PostgreSQL's ordered-set aggregate over (decided - queued) in hours: the month's decisions are summarised
    in the database instead of shipping thousands of timestamps to Python on every dashboard view."""

    function = None
    template = "%(kind)s(%(fraction)s) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (%(expressions)s)) / 3600.0)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, kind: str):
        super().__init__(expression, fraction=fraction, kind=kind)


def _nearest_rank(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile, as PostgreSQL's percentile_disc computes it."""
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


def review_turnaround(
    *, user, days: int = 30, now: dt.datetime | None = None, in_database: bool | None = None
) -> dict[str, dict]:
    """Hours from AI reading to doctor's decision, per urgency, over the last ``days``: median (interpolated
    between the middle two) and 90th percentile (nearest rank). Computed by PostgreSQL where it runs
    (``in_database``), in Python elsewhere; both give the same figures."""
    now = now or timezone.now()
    decisions = (
        scan_rows_visible_to(Review.objects.all(), user)
        .filter(is_second_opinion=False, queued_at__isnull=False, created_at__gte=now - dt.timedelta(days=days))
        .annotate(
            waited_as=Case(
                When(ai_recognised=False, then=Value(UNRECOGNISED)),
                When(ai_deferred=True, then=Value(DEFERRED)),
                default=F("ai_urgency"),
                output_field=CharField(),
            )
        )
    )
    if in_database is None:
        in_database = connection.vendor == "postgresql"
    if in_database:
        waited = ExpressionWrapper(F("created_at") - F("queued_at"), output_field=DurationField())
        rows = (
            decisions.order_by()
            .values_list("waited_as")
            .annotate(
                n=Count("pk"),
                median=_HoursPercentile(waited, fraction=0.5, kind="percentile_cont"),
                p90=_HoursPercentile(waited, fraction=0.9, kind="percentile_disc"),
            )
        )
        merged: dict[str, dict] = {}
        for urgency, n, median, p90 in rows:
            merged[urgency or "unknown"] = {"count": n, "median_hours": median, "p90_hours": p90}
        return dict(sorted(merged.items()))
    hours: dict[str, list[float]] = {}
    for urgency, queued_at, decided_at in decisions.values_list("waited_as", "queued_at", "created_at"):
        hours.setdefault(urgency or "unknown", []).append((decided_at - queued_at).total_seconds() / 3600)
    result = {}
    for urgency, values in sorted(hours.items()):
        values.sort()
        result[urgency] = {
            "count": len(values),
            "median_hours": statistics.median(values),
            "p90_hours": _nearest_rank(values, 0.9),
        }
    return result


def uploads_today(*, user, now: dt.datetime | None = None) -> dict:
    """Technician dashboard: today's uploads by AI status, and readings that failed (to retry)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    start = dt.datetime.combine(today, dt.time.min, tzinfo=timezone.get_current_timezone())
    scans = scans_visible_to(user).filter(uploaded_at__gte=start)
    by_status = dict(scans.values_list("ai_status").annotate(n=Count("pk")).values_list("ai_status", "n"))
    failed = list(
        scans_visible_to(user)
        .filter(ai_status=AiStatus.FAILED)
        .order_by("-uploaded_at")
        .only("pk", "uuid", "eye", "ai_error", "uploaded_at", "patient_id")[:20]
    )
    return {
        "total": sum(by_status.values()),
        "by_status": [(status.label, by_status.get(status.value, 0), status.value) for status in AiStatus],
        "failed": failed,
    }
