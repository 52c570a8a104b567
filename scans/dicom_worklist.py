"""Modality Worklist answers (C-FIND): the scheduled OCT appointments, so the device fills in the patient.

Matching (PS3.4 Annex K.6): the Scheduled Procedure Step Start Date (a date or a range; none means today, so a
device asking for "everything" gets today's list, not the clinic's whole future), the Scheduled Station AE
Title (the device's AE title on its Resource), the Patient ID (exact; ``*`` or empty means any) and the
Modality (only OCT/OPT-type modalities match). Every answer carries the same attributes; values are UTF-8
(``ISO_IR 192``) so names with accents arrive intact.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

from django.utils import timezone
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from scheduling.models import Appointment
from scheduling.selectors import appointments_for_worklist, local_day_bounds

WORKLIST_MODALITY = "OPT"
MATCHING_MODALITIES = {"", "OPT", "OCT", "OP", "OT"}
_UID_NAMESPACE = uuid.UUID("0b9c5d8e-35c4-4f49-9a0e-3f1d3c7a6b21")


class WorklistQueryError(ValueError):
    """A query key we cannot interpret (answered with 0xC000 "unable to process")."""


def _text(dataset: Dataset | None, keyword: str) -> str:
    if dataset is None:
        return ""
    return str(dataset.get(keyword, "") or "").strip()


def _date(raw: str) -> dt.date:
    try:
        return dt.datetime.strptime(raw.strip(), "%Y%m%d").date()
    except ValueError as exc:
        raise WorklistQueryError("bad date in the query") from exc


def worklist_date_range(raw: str, *, today: dt.date) -> tuple[dt.date, dt.date]:
    """Inclusive first and last day of a DICOM date key: "", "D", "D1-D2", "-D2", "D1-"."""
    raw = raw.strip()
    if not raw:
        return today, today
    if "-" not in raw:
        day = _date(raw)
        return day, day
    first, _, last = raw.partition("-")
    start = _date(first) if first.strip() else today
    end = _date(last) if last.strip() else start + dt.timedelta(days=31)
    if end < start:
        raise WorklistQueryError("the date range ends before it starts")
    if (end - start).days > 366:
        raise WorklistQueryError("the date range is longer than a year")
    return start, end


def _wildcard_free(value: str) -> str:
    """Exact-match value, or "" (any) for a universal match; other wildcards are not supported."""
    if value in ("", "*"):
        return ""
    if "*" in value or "?" in value:
        raise WorklistQueryError("wildcards other than a lone * are not supported")
    return value


def study_instance_uid_for(appointment: Appointment) -> str:
    """The Study Instance UID the device should use: stable per appointment, revealing nothing."""
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, appointment.accession_number).int}"


def worklist_query(query: Dataset) -> Iterator[Dataset]:
    """The worklist items matching a C-FIND identifier."""
    step = None
    steps = query.get("ScheduledProcedureStepSequence")
    if steps:
        step = steps[0]
    modality = _text(step, "Modality").upper()
    if modality not in MATCHING_MODALITIES and modality != "*":
        return
    first, last = worklist_date_range(_text(step, "ScheduledProcedureStepStartDate"), today=timezone.localdate())
    start, _ = local_day_bounds(first)
    _, end = local_day_bounds(last)
    appointments = appointments_for_worklist(
        start=start,
        end=end,
        station_ae_title=_wildcard_free(_text(step, "ScheduledStationAETitle")),
        patient_id=_wildcard_free(_text(query, "PatientID")),
    )
    for appointment in appointments:
        yield worklist_item(appointment)


def worklist_item(appointment: Appointment) -> Dataset:
    patient, resource = appointment.patient, appointment.resource
    local_start = timezone.localtime(appointment.start)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = f"{patient.last_name}^{patient.first_name}"
    ds.PatientID = patient.mrn
    ds.PatientBirthDate = f"{patient.date_of_birth:%Y%m%d}"
    ds.PatientSex = patient.sex if patient.sex in ("M", "F", "O") else ""
    ds.AccessionNumber = appointment.accession_number
    ds.ReferringPhysicianName = ""
    ds.StudyInstanceUID = study_instance_uid_for(appointment)
    ds.RequestedProcedureID = appointment.accession_number
    ds.RequestedProcedureDescription = "OCT examination"
    step = Dataset()
    step.Modality = WORKLIST_MODALITY
    step.ScheduledStationAETitle = resource.dicom_ae_title
    step.ScheduledStationName = resource.name[:16]
    step.ScheduledProcedureStepStartDate = f"{local_start:%Y%m%d}"
    step.ScheduledProcedureStepStartTime = f"{local_start:%H%M%S}"
    step.ScheduledProcedureStepID = str(appointment.pk)
    step.ScheduledProcedureStepDescription = "OCT examination"
    step.ScheduledPerformingPhysicianName = ""
    step.ScheduledProcedureStepStatus = "SCHEDULED" if appointment.status == "scheduled" else "ARRIVED"
    ds.ScheduledProcedureStepSequence = Sequence([step])
    return ds
