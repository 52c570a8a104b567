"""Which OCT device took a scan: what per-device agreement groups readings by.

Devices differ (depth window, sampling, contrast, speckle), and a model trained on one family can read another's
scans badly, so a clinic must see how the AI does on each of its devices. The name comes from the file itself
where it says (a DICOM header's Manufacturer and Manufacturer's Model Name), else from the OCT device the
appointment was booked on. It names equipment, never a person.
"""

from __future__ import annotations

from .models import DicomMetadata, Scan

UNKNOWN_DEVICE = ""


def device_name_of(*, manufacturer: str = "", model_name: str = "", booked: str = "") -> str:
    header = " ".join(part.strip() for part in (manufacturer, model_name) if part and part.strip())
    return (header or (booked or "").strip())[:160]


def scan_device_name(scan: Scan) -> str:
    """The device of a scan, "" when neither its file nor its appointment says."""
    try:
        dicom = scan.dicom
    except DicomMetadata.DoesNotExist:
        dicom = None
    booked = ""
    if scan.appointment_id:
        resource = scan.appointment.resource
        booked = f"{resource.name} ({resource.model_name})" if resource.model_name else resource.name
    return device_name_of(
        manufacturer=dicom.manufacturer if dicom else "",
        model_name=dicom.model_name if dicom else "",
        booked=booked,
    )


def scan_row_spacing_mm(scan: Scan) -> float | None:
    """The axial pixel spacing the DICOM header gives (preprocessing v3 crops a fixed physical depth with it)."""
    try:
        return scan.dicom.pixel_spacing_row_mm
    except DicomMetadata.DoesNotExist:
        return None
