"""The client side of the one configured PACS (``PACS_AE_TITLE`` / ``PACS_HOST`` / ``PACS_PORT``).

Two operations, both on the Study Root information model: C-FIND a patient's studies by Patient ID, and
C-GET one study, receiving its instances on the same association (no second port, no firewall rule for the
PACS to reach us). The network code knows nothing of patients or scans: retrieved instances are written to a
folder the caller owns, and ``pacs_services`` files them through the normal intake.

Errors are ``PacsError`` with a sentence staff can act on; never a value from the PACS's answers.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.uid import JPEGBaseline8Bit, RLELossless
from pynetdicom import AE, DEFAULT_TRANSFER_SYNTAXES, build_role, evt
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)

from .dicom_reading import SUPPORTED_SOP_CLASSES
from .limits import limit

logger = logging.getLogger(__name__)

# Modalities of studies worth offering on an eye clinic's patient page (empty: the PACS didn't say).
OPHTHALMIC_MODALITIES = {"OPT", "OP", "OCT", "OPM", "OPV", "OAM", "OPR", "IVOCT", "OT", "SC", "XC"}
RETRIEVE_TRANSFER_SYNTAXES = [*DEFAULT_TRANSFER_SYNTAXES, JPEGBaseline8Bit, RLELossless]


class PacsError(Exception):
    """The PACS can't be used right now; the message says why, without patient data."""


@dataclass(frozen=True)
class PacsStudy:
    study_instance_uid: str
    study_date: dt.date | None
    description: str
    modalities: tuple[str, ...]
    instances: int | None
    accession_number: str


def pacs_configured() -> bool:
    return bool(settings.PACS_HOST)


def pynetdicom_logs_quiet() -> None:
    """pynetdicom logs whole datasets (Patient ID, name, UIDs) at INFO; whatever the logging configuration says,
    its records below WARNING must never reach our logs. Called wherever an AE is built."""
    logger_ = logging.getLogger("pynetdicom")
    if logger_.level < logging.WARNING:  # NOTSET (0) too: inheriting the root's INFO would let them through
        logger_.setLevel(logging.WARNING)


def _ae(*contexts, interactive: bool = False) -> AE:
    """``interactive``: a user is waiting for the answer (PACS_INTERACTIVE_TIMEOUT_SECONDS, TCP connect included)."""
    pynetdicom_logs_quiet()
    ae = AE(ae_title=settings.DICOM_AE_TITLE)
    seconds = settings.PACS_INTERACTIVE_TIMEOUT_SECONDS if interactive else settings.DICOM_TIMEOUT_SECONDS
    for timeout in ("connection_timeout", "acse_timeout", "dimse_timeout", "network_timeout"):
        setattr(ae, timeout, seconds)
    for context in contexts:
        ae.add_requested_context(context)
    return ae


def _associate(ae: AE, **kwargs):
    if not pacs_configured():
        raise PacsError("no PACS is configured (PACS_HOST)")
    assoc = ae.associate(settings.PACS_HOST, settings.PACS_PORT, ae_title=settings.PACS_AE_TITLE, **kwargs)
    if not assoc.is_established:
        raise PacsError("the PACS did not accept the connection (is it running, and does it know our AE title?)")
    return assoc


def _date(raw) -> dt.date | None:
    try:
        return dt.datetime.strptime(str(raw or "")[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _modalities(value) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(v for v in value.split("\\") if v)
    return tuple(str(v) for v in value)


def pacs_studies_find(*, patient_id: str) -> list[PacsStudy]:
    """The PACS's studies of one Patient ID that may be eye images, newest first."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.PatientID = patient_id
    for keyword in (
        "StudyInstanceUID",
        "StudyDate",
        "StudyDescription",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedInstances",
        "AccessionNumber",
    ):
        setattr(query, keyword, "")
    assoc = _associate(_ae(StudyRootQueryRetrieveInformationModelFind, interactive=True))
    studies: list[PacsStudy] = []
    try:
        for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
            if not status:
                raise PacsError("the PACS did not answer the query (timeout or aborted connection)")
            code = int(status.Status)
            if code in (0xFF00, 0xFF01) and identifier is not None:
                uid = str(identifier.get("StudyInstanceUID", "") or "").strip()
                modalities = _modalities(identifier.get("ModalitiesInStudy"))
                if not uid or (modalities and not OPHTHALMIC_MODALITIES & set(modalities)):
                    continue
                count = identifier.get("NumberOfStudyRelatedInstances")
                studies.append(
                    PacsStudy(
                        study_instance_uid=uid,
                        study_date=_date(identifier.get("StudyDate")),
                        description=str(identifier.get("StudyDescription", "") or "")[:200],
                        modalities=modalities,
                        instances=int(count) if str(count or "").strip().isdigit() else None,
                        accession_number=str(identifier.get("AccessionNumber", "") or "")[:16],
                    )
                )
            elif code != 0x0000:
                raise PacsError(f"the PACS refused the query (status 0x{code:04X})")
    finally:
        assoc.release()
    studies.sort(key=lambda s: (s.study_date or dt.date.min, s.study_instance_uid), reverse=True)
    return studies


def pacs_study_get(*, study_instance_uid: str, folder: Path) -> list[Path]:
    """C-GET one study; each instance is written to ``folder`` as it arrives. Returns the files written."""
    ae = _ae(StudyRootQueryRetrieveInformationModelGet)
    roles = []
    for sop_class in SUPPORTED_SOP_CLASSES:
        ae.add_requested_context(sop_class, RETRIEVE_TRANSFER_SYNTAXES)
        roles.append(build_role(sop_class, scp_role=True))
    written: list[Path] = []
    maximum = limit("SCANS_MAX_UPLOAD_BYTES")

    def on_store(event) -> int:
        data = event.encoded_dataset(include_meta=True)
        if len(data) > maximum:
            return 0xA700
        path = folder / f"{len(written):05d}.dcm"
        path.write_bytes(data)
        written.append(path)
        return 0x0000

    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_instance_uid
    assoc = _associate(ae, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    final = None
    try:
        for status, _identifier in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet):
            if not status:
                raise PacsError("the PACS did not answer the retrieval (timeout or aborted connection)")
            final = int(status.Status)
    finally:
        assoc.release()
    if final not in (0x0000, 0xB000) and not written:
        raise PacsError(f"the PACS refused the retrieval (status 0x{(final or 0):04X})")
    logger.info("PACS C-GET finished with status 0x%04X, %d instances received", final or 0, len(written))
    return written


def pacs_instance_store(*, dataset: Dataset) -> None:
    """C-STORE one instance to the PACS; raises PacsError unless the PACS answers success (or a warning)."""
    ae = _ae(interactive=True)
    ae.add_requested_context(dataset.SOPClassUID, [str(dataset.file_meta.TransferSyntaxUID)])
    assoc = _associate(ae)
    try:
        status = assoc.send_c_store(dataset)
    finally:
        assoc.release()
    if not status:
        raise PacsError("the PACS did not answer the store request (timeout or aborted connection)")
    code = int(status.Status)
    if code != 0x0000 and not 0xB000 <= code <= 0xBFFF:
        raise PacsError(f"the PACS refused to store the report (status 0x{code:04X})")
    logger.info("PACS C-STORE answered 0x%04X", code)
