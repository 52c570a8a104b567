"""Which OCT device took a scan: what per-device agreement groups readings by.

Devices differ (depth window, sampling, contrast, speckle), and a model trained on one family can read another's
scans badly, so a clinic must see how the AI does on each of its devices. The name comes from the file itself
where it says (a DICOM header's Manufacturer and Manufacturer's Model Name), else from the OCT device the
appointment was booked on. The booked device comes first: it is the clinic's own unit, the name the clinic's
device list and the per-device readiness table use (a booked device that never sent a scan is listed as not yet
validated); a file that arrived without an appointment is named by its DICOM header (Manufacturer and
Manufacturer's Model Name). It names equipment, never a person.
"""

from __future__ import annotations

from .models import DicomMetadata, Scan

UNKNOWN_DEVICE = ""


def device_name_of(*, manufacturer: str = "", model_name: str = "", booked: str = "") -> str:
    header = " ".join(part.strip() for part in (manufacturer, model_name) if part and part.strip())
    return ((booked or "").strip() or header)[:160]


def resource_device_name(resource) -> str:
    """A booked OCT device as readings and the readiness table name it."""
    return f"{resource.name} ({resource.model_name})" if resource.model_name else resource.name


def scan_device_name(scan: Scan) -> str:
    """The device of a scan, "" when neither its appointment nor its file says."""
    try:
        dicom = scan.dicom
    except DicomMetadata.DoesNotExist:
        dicom = None
    booked = ""
    if scan.appointment_id:
        booked = resource_device_name(scan.appointment.resource)
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
