"""The reconciliation list: received DICOM instances the receiver could not file on a patient by itself.

Holding writes one file and one row, the row only after the file and the file deleted if the row fails, so
an instance is either held whole or not at all (the sender is then told to retry). Assigning runs the held
bytes through the normal intake (``services.scan_upload``) on the patient a technician chose, attributed to
that technician; the held file is deleted only once the scan is committed.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from pydicom.dataset import Dataset

from patients.models import Patient
from scheduling.models import Appointment
from scheduling.selectors import appointment_for_received_image

from . import files
from .errors import IntakeError
from .inspection import inspect_file
from .models import ReceivedInstance, ReceivedInstanceStatus, Scan
from .services import scan_upload

logger = logging.getLogger(__name__)


def received_file_name(*, modality: str, day: dt.date) -> str:
    """The display name of a received instance: its modality and the day it arrived (never patient data)."""
    return f"{(modality or '').strip() or 'DICOM'}-received-{day:%Y%m%d}.dcm"


def _text(header: Dataset, keyword: str, max_length: int) -> str:
    return str(header.get(keyword, "") or "").strip()[:max_length]


def _birth_date(header: Dataset) -> dt.date | None:
    raw = _text(header, "PatientBirthDate", 8)
    try:
        return dt.datetime.strptime(raw, "%Y%m%d").date() if raw else None
    except ValueError:
        return None


def received_instance_hold(
    *, data: bytes, header: Dataset, reason: str, calling_ae_title: str, acquired_on: dt.date | None
) -> ReceivedInstance:
    """Keep an instance for a technician, after the same validation an upload gets (raises IntakeError).

    The same bytes already waiting are not held twice; the waiting row is returned."""
    from .dicom_metadata import dicom_laterality

    inspect_file(data)  # garbage is refused to the sender now, not discovered by a technician later
    sha256 = files.sha256_hex(data)
    waiting = ReceivedInstance.objects.filter(sha256=sha256, status=ReceivedInstanceStatus.PENDING).first()
    if waiting is not None:
        return waiting  # a device re-sending after a lost answer must not fill the list with copies
    stored = files.file_store(prefix=files.RECEIVED, extension=".dcm", data=data)
    eye = dicom_laterality(header)
    sex = _text(header, "PatientSex", 1).upper()
    try:
        with transaction.atomic():
            return ReceivedInstance.objects.create(
                file=stored.name,
                sha256=stored.sha256,
                size_bytes=stored.size,
                reason=reason,
                calling_ae_title=calling_ae_title[:16],
                sop_class_uid=_text(header, "SOPClassUID", 64),
                modality=_text(header, "Modality", 16),
                header_patient_id=_text(header, "PatientID", 64),
                header_patient_name=_text(header, "PatientName", 200),
                header_birth_date=_birth_date(header),
                header_sex=sex if sex in ("M", "F", "O") else "",
                laterality=eye.value if eye else "",
                acquired_on=acquired_on,
                accession_number=_text(header, "AccessionNumber", 16),
            )
    except BaseException:
        files.file_delete_quietly(stored.name)
        raise


def received_instances_pending() -> QuerySet[ReceivedInstance]:
    return ReceivedInstance.objects.filter(status=ReceivedInstanceStatus.PENDING).order_by("received_at", "pk")


def received_instance_get_pending(*, uuid) -> ReceivedInstance:
    return ReceivedInstance.objects.get(uuid=uuid, status=ReceivedInstanceStatus.PENDING)


def received_instance_assign(
    *,
    instance: ReceivedInstance,
    patient: Patient,
    eye: str,
    user,
    appointment: Appointment | None = None,
    confirm_identity_mismatch: bool = False,
) -> Scan:
    """File a held instance on the chosen patient through the normal intake; raises IntakeError when refused.

    Without an ``appointment`` the image goes to the patient's appointment of the day it was taken, as the
    receiver would have filed it."""
    if instance.status != ReceivedInstanceStatus.PENDING:
        raise IntakeError("this instance was already assigned or discarded")
    if patient.is_archived:
        raise IntakeError("the patient is archived; restore the patient first")
    if appointment is None and instance.acquired_on:
        appointment = appointment_for_received_image(patient=patient, day=instance.acquired_on)
    data = files.file_read_verified(instance.file.name, instance.sha256)
    with transaction.atomic():
        locked = ReceivedInstance.objects.select_for_update().get(pk=instance.pk)
        if locked.status != ReceivedInstanceStatus.PENDING:
            raise IntakeError("this instance was already assigned or discarded")
        scan = scan_upload(
            patient=patient,
            eye=eye,
            acquired_on=instance.acquired_on or timezone.localdate(),
            file_name=received_file_name(modality=instance.modality, day=instance.received_at.date()),
            data=data,
            uploaded_by=user,
            appointment=appointment,
            confirm_identity_mismatch=confirm_identity_mismatch,
        )
        held_name = locked.file.name
        locked.status = ReceivedInstanceStatus.ASSIGNED
        locked.scan = scan
        locked.file = ""
        locked.resolved_by = user
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["status", "scan", "file", "resolved_by", "resolved_at"])
        transaction.on_commit(lambda: files.file_delete_quietly(held_name))
    logger.info("received instance #%s assigned as scan %s by user %s", locked.pk, scan.pk, user.pk)
    return scan


def received_instance_discard(*, instance: ReceivedInstance, user) -> ReceivedInstance:
    """Drop a held instance that belongs to nobody here (a test shot, another clinic's patient)."""
    with transaction.atomic():
        locked = ReceivedInstance.objects.select_for_update().get(pk=instance.pk)
        if locked.status != ReceivedInstanceStatus.PENDING:
            raise IntakeError("this instance was already assigned or discarded")
        held_name = locked.file.name
        locked.status = ReceivedInstanceStatus.DISCARDED
        locked.file = ""
        locked.resolved_by = user
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["status", "file", "resolved_by", "resolved_at"])
        transaction.on_commit(lambda: files.file_delete_quietly(held_name))
    logger.info("received instance #%s discarded by user %s", locked.pk, user.pk)
    return locked
