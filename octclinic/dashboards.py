"""The start page of each role: what the technician, the doctor and the clinic admin need first.

octclinic sits on top of the domain apps, so it may read from all of them; each figure comes from the
owning app's selectors (and through its access rules), this module only arranges them per role.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from mlcore.selectors import model_version_deployed, model_version_list
from scans.device_readiness import device_agreement
from scans.review_selectors import review_queue_counts, review_target_hours, reviews_recent
from scans.review_stats import (
    agreement_by_model_version,
    diagnosis_distribution,
    review_turnaround,
    scans_per_week,
    uploads_today,
)
from scheduling.models import AppointmentStatus
from scheduling.selectors import schedule_day

from .charts import bar_chart_svg, line_chart_svg


def technician_dashboard(*, user) -> dict:
    today = timezone.localdate()
    columns = schedule_day(day=today)
    devices = []
    for resource, appointments in columns:
        live = [a for a in appointments if a.status != AppointmentStatus.CANCELLED]
        devices.append(
            {
                "resource": resource,
                "appointments": len(live),
                "checked_in": sum(1 for a in live if a.status == AppointmentStatus.CHECKED_IN),
                "completed": sum(1 for a in live if a.status == AppointmentStatus.COMPLETED),
                "waiting": sum(1 for a in live if a.status == AppointmentStatus.SCHEDULED),
            }
        )
    return {"today": today, "devices": devices, "uploads": uploads_today(user=user)}


def doctor_dashboard(*, user) -> dict:
    counts = review_queue_counts(user=user)
    chart = bar_chart_svg(list(counts["by_urgency"].items()), title="Waiting for review by urgency", height=180)
    return {
        "queue": counts,
        "queue_chart": chart,
        "targets": review_target_hours(),
        "recent": reviews_recent(user=user, limit=10),
    }


def clinic_admin_dashboard(*, user) -> dict:
    weekly = scans_per_week(user=user, weeks=12)
    distribution = diagnosis_distribution(user=user)
    agreement = agreement_by_model_version(weeks=12)
    week_labels = [f"{start:%d.%m.}" for start, _ in weekly]
    floor = float(getattr(settings, "REVIEW_DRIFT_MIN_AGREEMENT", 0.8))
    deployed = model_version_deployed()
    # The deployed version's devices; with none deployed, every version's (the same queries either way).
    devices = device_agreement(versions=[deployed.version] if deployed else None)
    return {
        "device_agreement": devices,
        "device_warnings": [row for row in devices if row.warns],
        "deployed_version": deployed.version if deployed else "",
        "weekly_chart": bar_chart_svg([(f"{s:%d.%m.}", n) for s, n in weekly], title="Scans per week"),
        "weekly_total": sum(n for _, n in weekly),
        "distribution": distribution,
        "distribution_chart": bar_chart_svg(distribution, title="Diagnoses (doctors' labels)", colour="#2e7d32"),
        "agreement": agreement,
        "agreement_chart": line_chart_svg(
            {v.version: [p.rate for p in v.points] for v in agreement},
            labels=week_labels,
            title="AI-doctor agreement per model version",
            threshold=floor,
        ),
        "drift": [v for v in agreement if v.drift],
        "turnaround": review_turnaround(user=user),
        "model_versions": list(model_version_list()[:10]),
    }
