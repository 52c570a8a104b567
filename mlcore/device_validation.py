"""Validating a model version on one OCT device's labelled scans before the clinic relies on it.

``manage.py evaluate_model --data DIR --device NAME`` scores the version on the folder and records the result
here; the per-device readiness table (models page, clinic admin dashboard) shows it beside the doctors'
agreement on that device. The device is named as readings name it (the booked OCT device, else the DICOM
Manufacturer + Model Name), so the two line up.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from mlcore.models import DeviceValidation, ModelVersion


def device_validation_record(
    *, model_version: ModelVersion, device: str, metrics: dict, data: str, user=None
) -> DeviceValidation:
    device = device.strip()
    if not device:
        raise ValueError("Name the device the scans were taken on (as its DICOM header names it)")
    if not metrics.get("n"):
        raise ValueError("The folder holds no labelled scans: nothing was validated")
    with transaction.atomic():
        return DeviceValidation.objects.create(
            model_version=model_version,
            device=device[:160],
            data_name=Path(data).name[:255],
            n=int(metrics["n"]),
            accuracy=float(metrics["accuracy"]),
            urgent_sensitivity=metrics.get("urgent_sensitivity"),
            urgent_specificity=metrics.get("urgent_specificity"),
            report={k: v for k, v in metrics.items() if k != "data"},
            created_by=user,
        )


def device_validations_latest(*, versions: list[str] | None = None) -> dict[tuple[str, str], DeviceValidation]:
    """The latest validation of each (device, version), of the named versions (None: all)."""
    latest: dict[tuple[str, str], DeviceValidation] = {}
    rows = DeviceValidation.objects.select_related("model_version")
    if versions is not None:
        rows = rows.filter(model_version__version__in=versions)
    for row in rows.order_by("created_at", "pk"):
        latest[(row.device, row.model_version.version)] = row
    return latest
