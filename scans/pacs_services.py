"""Pulling a patient's earlier study from the PACS into their record.

Staff ask on the patient's PACS page (``pacs_retrieval_request``); a Celery task does the network work
(``pacs_retrieval_run``) so the page never waits on the PACS. Each retrieved instance goes through the same
path as one a device sends (``dicom_receiver.dicom_instance_receive``: intake, or the reconciliation list when
the eye is missing or the header differs from the patient), attributed to the member of staff who asked.
An instance whose Patient ID is not this patient's MRN is refused: we asked for this patient's studies, so
anything else is the PACS's mistake and must not be filed anywhere.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from patients.services import mrn_normalize

from .dicom_receiver import dicom_instance_receive, header_read
from .errors import IntakeError
from .models import PacsRetrieval, PacsRetrievalStatus
from .pacs import PacsError, pacs_instance_store, pacs_study_get

logger = logging.getLogger(__name__)
UID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
STALE_AFTER_MINUTES = 60


def pacs_retrieval_request(*, patient: Patient, study_instance_uid: str, user) -> PacsRetrieval:
    """Queue the retrieval of one study; asking again while one is under way (for up to an hour) returns that one."""
    uid = (study_instance_uid or "").strip()
    if not uid or len(uid) > 64 or not UID_PATTERN.match(uid):
        raise IntakeError("the study identifier is not a valid DICOM UID")
    if patient.is_archived:
        raise IntakeError("the patient is archived; restore the patient first")
    from .tasks import pacs_retrieve

    with transaction.atomic():
        open_retrieval = (
            PacsRetrieval.objects.select_for_update()
            .filter(
                patient=patient,
                study_instance_uid=uid,
                status__in=(PacsRetrievalStatus.QUEUED, PacsRetrievalStatus.RUNNING),
                # One whose task was lost (broker outage, worker gone) must not block a new request for ever.
                requested_at__gte=timezone.now() - dt.timedelta(minutes=STALE_AFTER_MINUTES),
            )
            .first()
        )
        if open_retrieval is not None:
            return open_retrieval
        retrieval = PacsRetrieval.objects.create(patient=patient, study_instance_uid=uid, requested_by=user)
        transaction.on_commit(lambda: pacs_retrieve.delay(retrieval.pk))
    return retrieval


def pacs_retrieval_run(*, retrieval_id: int) -> PacsRetrieval:
    """The worker's side: C-GET the study into a temporary folder, then file each instance."""
    retrieval = PacsRetrieval.objects.select_related("patient", "requested_by").get(pk=retrieval_id)
    if retrieval.status in (PacsRetrievalStatus.DONE, PacsRetrievalStatus.FAILED):
        return retrieval
    retrieval.status = PacsRetrievalStatus.RUNNING
    retrieval.save(update_fields=["status"])
    held = 0
    with tempfile.TemporaryDirectory(prefix="pacs-get-") as folder:
        try:
            paths = pacs_study_get(study_instance_uid=retrieval.study_instance_uid, folder=Path(folder))
        except PacsError as exc:
            return _finish(retrieval, PacsRetrievalStatus.FAILED, str(exc))
        for path in paths:
            outcome = _instance_file(retrieval, path.read_bytes())
            if outcome == "stored":
                retrieval.stored += 1
            elif outcome == "duplicate":
                retrieval.duplicates += 1
            elif outcome == "held":
                held += 1
            else:
                retrieval.refused += 1
    if not paths:
        return _finish(retrieval, PacsRetrievalStatus.FAILED, "the PACS sent no images for this study")
    message = (
        f"{retrieval.stored} stored, {retrieval.duplicates} already in the record, {retrieval.refused} refused"
        + (f", {held} waiting in reconciliation (eye or identity to confirm)" if held else "")
    )
    return _finish(retrieval, PacsRetrievalStatus.DONE, message)


def _instance_file(retrieval: PacsRetrieval, data: bytes) -> str:
    try:
        header = header_read(data)
    except IntakeError:
        return "refused"
    if mrn_normalize(str(header.get("PatientID", "") or "")) != retrieval.patient.mrn:
        logger.warning("PACS retrieval %s: an instance of another Patient ID was refused", retrieval.pk)
        return "refused"
    outcome = dicom_instance_receive(
        data=data, calling_ae_title=settings.PACS_AE_TITLE, uploaded_by=retrieval.requested_by
    )
    return outcome.result


def _finish(retrieval: PacsRetrieval, status: str, message: str) -> PacsRetrieval:
    retrieval.status = status
    retrieval.message = message[:500]
    retrieval.finished_at = timezone.now()
    retrieval.save(update_fields=["status", "message", "finished_at", "stored", "duplicates", "refused"])
    logger.info("PACS retrieval %s finished: %s", retrieval.pk, status)
    return retrieval


def pacs_retrievals_for_patient(*, patient: Patient, limit: int = 20):
    return PacsRetrieval.objects.filter(patient=patient).select_related("requested_by")[:limit]


def pacs_visit_report_store(*, patient: Patient, eye: str, day, user) -> None:
    """Store the signed-off visit report of one eye in the PACS as an Encapsulated PDF.

    Raises IntakeError when the visit isn't signed off and PacsError when the PACS can't take it. Runs in the
    request: one small instance, bounded by PACS_INTERACTIVE_TIMEOUT_SECONDS, and the doctor wants to know it arrived.
    """
    from .report_dicom import visit_report_dataset

    dataset = visit_report_dataset(patient=patient, eye=eye, day=day, author=user)
    pacs_instance_store(dataset=dataset)
    logger.info("visit report of patient %s stored in the PACS by user %s", patient.pk, user.pk)
