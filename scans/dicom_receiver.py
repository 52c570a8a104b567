"""What the DICOM receiver does with one received instance (C-STORE), independent of the network code.

Each instance goes through the same intake as an upload (``services.scan_upload``: validation, storage,
checksums, de-identified copy, AI reading on commit). The receiver only adds what a person would have chosen
in the upload form: the patient (Patient ID = MRN), the eye (the header's laterality), the acquisition day and
that day's appointment. When any of these can't be decided safely the instance waits, whole, in the
reconciliation list (``reconciliation.received_instance_hold``) instead of being filed on a guess.

Everything the receiver changes is attributed to a system account (``DICOM_SERVICE_USERNAME``) in the audit
trail, because every change of patient data must name who made it. Logs carry counts, status codes and our
own row ids only: never names, IDs or UIDs from the header.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import pydicom
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.utils import timezone
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from octclinic.audit_actor import audit_actor
from patients.selectors import patient_by_mrn
from scheduling.selectors import appointment_for_received_image

from .dicom_metadata import dicom_laterality
from .errors import DuplicateScan, IdentityMismatch, IntakeError
from .models import ReceivedInstanceReason
from .reconciliation import received_file_name, received_instance_hold
from .services import scan_acquired_on, scan_acquisition_date_check, scan_instance_duplicate_check, scan_upload

logger = logging.getLogger(__name__)

# DIMSE status codes of a C-STORE response (PS3.4 Annex B.2.3).
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
CANNOT_UNDERSTAND = 0xC000


@dataclass(frozen=True)
class ReceiveOutcome:
    status: int
    result: str  # "stored" | "duplicate" | "held" | "refused" | "failed"
    reason: str = ""
    scan_id: int | None = None
    held_id: int | None = None


def dicom_service_user():
    """The system account that received instances are attributed to; it can never log in."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=settings.DICOM_SERVICE_USERNAME, defaults={"is_active": False, "first_name": "DICOM receiver"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def header_read(data: bytes) -> Dataset:
    """The header without pixel data, for matching; the full decode is intake's job."""
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
    except (InvalidDicomError, EOFError, ValueError, TypeError, KeyError, OSError) as exc:
        raise IntakeError("the DICOM header could not be read", code="unreadable") from exc


def dicom_instance_receive(
    *, data: bytes, calling_ae_title: str, context_sop_class_uid: str = "", uploaded_by=None
) -> ReceiveOutcome:
    """File one received instance on its patient, or hold it for reconciliation; never half-stores it.

    ``uploaded_by`` defaults to the receiver's system account (a PACS retrieval passes the requesting user).
    The outcome's status is the DIMSE status to answer the sender with.
    """
    try:
        user = uploaded_by or dicom_service_user()
        with audit_actor(user):
            return _receive(
                data=data, calling_ae_title=calling_ae_title, context_sop_class_uid=context_sop_class_uid, user=user
            )
    except IntakeError as exc:
        status = {"too_large": OUT_OF_RESOURCES, "unreadable": CANNOT_UNDERSTAND}.get(
            exc.code, DATASET_DOES_NOT_MATCH_SOP_CLASS
        )
        return ReceiveOutcome(status=status, result="refused", reason=exc.reason)
    except (OSError, DatabaseError):
        logger.exception("a received DICOM instance could not be stored")
        return ReceiveOutcome(status=OUT_OF_RESOURCES, result="failed", reason="storage or database unavailable")


def _receive(*, data: bytes, calling_ae_title: str, context_sop_class_uid: str, user) -> ReceiveOutcome:
    header = header_read(data)
    sop_class = str(header.get("SOPClassUID", "") or "")
    if context_sop_class_uid and sop_class and sop_class != context_sop_class_uid:
        raise IntakeError("the dataset's SOP class differs from the one negotiated for it")

    patient_id = str(header.get("PatientID", "") or "").strip()
    acquired_on = scan_acquired_on(given=timezone.localdate(), dataset=header)
    eye = dicom_laterality(header)
    # The intake's date rule before anything is held: a future date is refused to the sender, never filed.
    scan_acquisition_date_check(acquired_on=acquired_on)

    def hold(reason: str) -> ReceiveOutcome:
        held = received_instance_hold(
            data=data, header=header, reason=reason, calling_ae_title=calling_ae_title, acquired_on=acquired_on
        )
        logger.info("received instance held for reconciliation as #%s (%s)", held.pk, reason)
        return ReceiveOutcome(status=SUCCESS, result="held", reason=reason, held_id=held.pk)

    if not patient_id:
        return hold(ReceivedInstanceReason.NO_PATIENT_ID)
    patient = patient_by_mrn(patient_id)
    if patient is None:
        return hold(ReceivedInstanceReason.UNKNOWN_PATIENT)
    if patient.is_archived:
        return hold(ReceivedInstanceReason.ARCHIVED_PATIENT)
    try:
        # Already filed (uploaded on the web, sent before, retrieved from the PACS): success, whatever else the
        # header would make us hold it for.
        scan_instance_duplicate_check(patient=patient, sop_instance_uid=str(header.get("SOPInstanceUID", "") or ""))
    except DuplicateScan:
        return ReceiveOutcome(status=SUCCESS, result="duplicate")
    if eye is None:
        return hold(ReceivedInstanceReason.NO_LATERALITY)

    appointment = appointment_for_received_image(
        patient=patient,
        day=acquired_on,
        accession_number=str(header.get("AccessionNumber", "") or "").strip(),
        station_ae_title=calling_ae_title,
    )
    try:
        scan = scan_upload(
            patient=patient,
            eye=eye,
            acquired_on=acquired_on,
            file_name=received_file_name(modality=str(header.get("Modality", "") or ""), day=timezone.localdate()),
            data=data,
            uploaded_by=user,
            appointment=appointment,
        )
    except IdentityMismatch:
        return hold(ReceivedInstanceReason.IDENTITY_MISMATCH)
    except DuplicateScan:
        # A device re-sending after a lost response must get success, or it retries for ever.
        return ReceiveOutcome(status=SUCCESS, result="duplicate")
    logger.info("received instance stored as scan %s", scan.pk)
    return ReceiveOutcome(status=SUCCESS, result="stored", scan_id=scan.pk)
