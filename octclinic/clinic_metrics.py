"""Clinic figures for Prometheus, read from the database at scrape time (counts only, never PHI).

Registered from OctclinicConfig.ready; octclinic sits above the domain apps, so it may read them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, F
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

# Upload-to-reading latency buckets (seconds): the target is "within a second of upload".
LATENCY_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


def scans_by_ai_status():
    from scans.models import Scan

    gauge = GaugeMetricFamily("octclinic_scans", "Scans by AI reading status", labels=["ai_status"])
    for row in Scan.objects.values("ai_status").annotate(n=Count("pk")):
        gauge.add_metric([row["ai_status"]], row["n"])
    yield gauge


def predictions_by_label():
    """Readings per suggested label; a deferred or refused reading counts under its ``outcome`` with no label, as it
    suggested no diagnosis (a label series must not grow with readings the AI was unsure of)."""
    from scans.models import Prediction

    counter = CounterMetricFamily(
        "octclinic_predictions",
        "AI readings by outcome, label and model version",
        labels=["outcome", "label", "model_version"],
    )
    rows = Prediction.objects.values("label", "deferred", "recognised", version=F("model_version__version")).annotate(
        n=Count("pk")
    )
    totals: dict[tuple[str, str, str], int] = {}
    for row in rows:
        outcome = "unrecognised" if not row["recognised"] else ("deferred" if row["deferred"] else "suggestion")
        key = (outcome, row["label"] if outcome == "suggestion" else "", row["version"])
        totals[key] = totals.get(key, 0) + row["n"]
    for key, n in sorted(totals.items()):
        counter.add_metric(list(key), n)
    yield counter


def classification_latency():
    """Queue-to-reading time of the last day's readings (the background task's duration as staff feel it)."""
    from scans.models import Prediction

    since = timezone.now() - dt.timedelta(days=1)
    pairs = Prediction.objects.filter(created_at__gte=since, scan__ai_queued_at__isnull=False).values_list(
        "created_at", "scan__ai_queued_at"
    )
    latencies = [max(0.0, (created - queued).total_seconds()) for created, queued in pairs]
    buckets = [[str(b), sum(1 for x in latencies if x <= b)] for b in LATENCY_BUCKETS]
    buckets.append(["+Inf", len(latencies)])
    yield HistogramMetricFamily(
        "octclinic_classification_latency_seconds",
        "Seconds from queueing a scan to its stored AI reading, last 24 h",
        buckets=buckets,
        sum_value=sum(latencies),
    )


def model_time():
    from scans.models import Prediction

    since = timezone.now() - dt.timedelta(days=1)
    values = list(Prediction.objects.filter(created_at__gte=since).values_list("model_ms", flat=True))
    gauge = GaugeMetricFamily("octclinic_model_time_ms_avg", "Average model time per reading, last 24 h (ms)")
    gauge.add_metric([], sum(values) / len(values) if values else 0.0)
    yield gauge


def broker_queue_depth():
    gauge = GaugeMetricFamily("octclinic_broker_queue_depth", "Messages waiting in the Celery queue")
    url = getattr(settings, "REDIS_URL", "")
    if url:
        try:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            gauge.add_metric([], client.llen("celery"))
        except Exception:  # the scrape must not fail because the broker is down; readyz says that
            return
    yield gauge


def appointments_today():
    from scheduling.models import Appointment

    gauge = GaugeMetricFamily("octclinic_appointments_today", "Today's appointments by status", labels=["status"])
    for row in Appointment.objects.filter(start__date=timezone.localdate()).values("status").annotate(n=Count("pk")):
        gauge.add_metric([row["status"]], row["n"])
    yield gauge


SOURCES = {
    "scans_by_ai_status": scans_by_ai_status,
    "predictions_by_label": predictions_by_label,
    "classification_latency": classification_latency,
    "model_time": model_time,
    "broker_queue_depth": broker_queue_depth,
    "appointments_today": appointments_today,
}
