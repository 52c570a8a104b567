"""AI–doctor agreement per OCT device and model version, and whether each device is validated at all.

A model that reads one device's scans well can read another's badly (issue #15: a Spectralis-trained version
called most healthy Optovue eyes CNV). So the clinic watches agreement per device: a device whose agreement
falls under the drift floor is flagged, and a device with no reviewed readings yet is "not yet validated on this
device" rather than silently trusted. Counts only, no patient data: clinic admins and the models page see it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from redis.exceptions import RedisError

from mlcore.device_validation import device_validations_latest
from scheduling.models import Resource

from .devices import resource_device_name
from .models import Prediction, Review, ReviewDecision

logger = logging.getLogger(__name__)

UNVALIDATED = "unvalidated"
VALIDATED_OFFLINE = "offline"  # scored on the device's labelled scans (evaluate_model --device), not yet reviewed
DRIFT = "drift"
FEW = "few"  # reviewed, but fewer than REVIEW_DRIFT_MIN_REVIEWS: no verdict yet
OK = "ok"
UNKNOWN_DEVICE_TEXT = "Unknown device"


@dataclass(frozen=True)
class DeviceAgreement:
    device: str
    version: str
    agreed: int
    total: int
    readings: int
    status: str
    message: str
    offline_accuracy: float | None = None  # the latest evaluate_model --device result
    offline_n: int = 0

    @property
    def rate(self) -> float | None:
        return self.agreed / self.total if self.total else None

    @property
    def device_display(self) -> str:
        return self.device or UNKNOWN_DEVICE_TEXT

    @property
    def warns(self) -> bool:
        return self.status in (UNVALIDATED, DRIFT)


def _floor() -> tuple[float, int]:
    return (
        float(getattr(settings, "REVIEW_DRIFT_MIN_AGREEMENT", 0.8)),
        int(getattr(settings, "REVIEW_DRIFT_MIN_REVIEWS", 5)),
    )


def _verdict(device: str, agreed: int, total: int, offline=None) -> tuple[str, str]:
    floor, min_n = _floor()
    name = device or UNKNOWN_DEVICE_TEXT
    if offline is not None and offline.accuracy < floor:
        return DRIFT, (
            f"Validation on {name} ({offline.n} labelled scans) found accuracy {offline.accuracy:.0%}, below the "
            f"drift threshold {floor:.0%}: do not rely on the AI for this device."
        )
    if total == 0:
        if offline is not None:
            return VALIDATED_OFFLINE, ""
        return UNVALIDATED, f"Not yet validated on this device ({name}): no doctor has reviewed its AI readings."
    if total < min_n:
        return FEW, f"{total} reviewed reading(s) on {name}: too few to judge (at least {min_n})."
    rate = agreed / total
    if rate < floor:
        return DRIFT, f"AI–doctor agreement on {name} is {rate:.0%}, below the drift threshold {floor:.0%}."
    return OK, ""


_CACHE_SHAPE = 1  # raise when DeviceAgreement's fields change: a deploy must not unpickle the old rows


def device_agreement(*, versions: list[str] | None = None) -> list[DeviceAgreement]:
    """One row per (device, model version) with readings or a validation, plus booked OCT devices a version has
    never read; of the named versions (None: all). Sorted by version, then warnings first.

    Its two aggregates read every reading and review of the versions (about 120 ms at 100,000 scans, on every
    load of the clinic admin's dashboard and the models page), for figures that move by a review at a time: the
    rows are cached for ``DEVICE_AGREEMENT_CACHE_SECONDS`` (0: never). Without the cache server they are computed.
    """
    seconds = int(getattr(settings, "DEVICE_AGREEMENT_CACHE_SECONDS", 0))
    if seconds <= 0:
        return _device_agreement(versions=versions)
    named = "*" if versions is None else ",".join(sorted(versions))
    key = f"scans:device-agreement:v{_CACHE_SHAPE}:" + hashlib.sha256(named.encode()).hexdigest()[:32]
    try:
        rows = cache.get(key)
    except (RedisError, OSError) as exc:
        logger.warning("device agreement: cache unreachable (%s); computed", type(exc).__name__)
        return _device_agreement(versions=versions)
    if rows is None:
        rows = _device_agreement(versions=versions)
        with contextlib.suppress(RedisError, OSError):  # computed; the next page load tries again
            cache.set(key, rows, seconds)
    return rows


def _device_agreement(*, versions: list[str] | None) -> list[DeviceAgreement]:
    """Four queries."""
    decisions = Review.objects.filter(
        is_second_opinion=False,
        model_version__isnull=False,
        prediction__isnull=False,
        decision__in=[ReviewDecision.APPROVED, ReviewDecision.CORRECTED],
        ai_deferred=False,
        ai_recognised=True,
    )
    readings = Prediction.objects.all()
    if versions is not None:
        decisions = decisions.filter(model_version__version__in=versions)
        readings = readings.filter(model_version__version__in=versions)
    reviewed = {
        (device, version): (agreed, total)
        for device, version, agreed, total in decisions.values_list("prediction__device", "model_version__version")
        .annotate(total=Count("pk"), agreed=Count("pk", filter=Q(decision=ReviewDecision.APPROVED)))
        .values_list("prediction__device", "model_version__version", "agreed", "total")
    }
    counted = {
        (device, version): n
        for device, version, n in readings.values_list("device", "model_version__version")
        .annotate(n=Count("pk"))
        .values_list("device", "model_version__version", "n")
    }
    offline = device_validations_latest(versions=versions)
    keys = set(reviewed) | set(counted) | set(offline)
    # A booked OCT device that has not sent a single scan yet is unvalidated too (always one query, so a page's
    # query count does not depend on whether a version is deployed).
    shown_versions = versions if versions is not None else sorted({version for _, version in keys})
    named = {device for device, _ in keys}
    for resource in Resource.objects.filter(kind=Resource.Kind.DEVICE).only("name", "model_name"):
        label = resource_device_name(resource)
        if label not in named:
            keys |= {(label, version) for version in shown_versions}
    rows = []
    for device, version in keys:
        agreed, total = reviewed.get((device, version), (0, 0))
        validation = offline.get((device, version))
        status, message = _verdict(device, agreed, total, validation)
        rows.append(
            DeviceAgreement(
                device,
                version,
                agreed,
                total,
                counted.get((device, version), 0),
                status,
                message,
                offline_accuracy=validation.accuracy if validation else None,
                offline_n=validation.n if validation else 0,
            )
        )
    order = {DRIFT: 0, UNVALIDATED: 1, FEW: 2, VALIDATED_OFFLINE: 3, OK: 4}
    return sorted(rows, key=lambda r: (r.version, order[r.status], r.device_display.lower()))


def device_agreement_section(request, versions) -> str:
    """The models page's and model cards' section (registered with ``mlcore.page_sections``)."""
    from django.template.loader import render_to_string

    rows = device_agreement(versions=list(versions))
    return render_to_string(
        "scans/partials/device_agreement.html",
        {
            "rows": rows,
            "warnings": [row for row in rows if row.warns],
            "single_version": versions[0] if len(versions) == 1 else "",
        },
        request=request,
    )
