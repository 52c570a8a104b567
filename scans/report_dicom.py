"""The doctor's signed-off visit report as a DICOM Encapsulated PDF, for the PACS.

A visit (one patient, one eye, one day: ``visit_report.visit_scans``) is signed off when every scan in it has
the doctor's decision of record; only then does the report go to the PACS, where it outlives this application.
The report joins the visit's study when the scans came as DICOM (so the PACS shows it beside the images);
otherwise it gets a study of its own, derived from the visit so a re-send lands in the same study. The SOP
Instance UID is derived from the visit and its decisions (not the PDF's bytes, which carry the print time):
sending the same report twice stores it once, and a later second opinion makes a new instance.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.utils import timezone
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from patients.models import Patient

from .errors import IntakeError
from .models import DicomMetadata, Review
from .visit_report import visit_report_pdf, visit_scans

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"


def _uid(*parts: object) -> str:
    """A UID from our salt and the given parts (``2.25.`` + 128 bits), so it is stable and reveals nothing."""
    salt = settings.SCANS_DEID_UID_SALT or settings.SECRET_KEY
    digest = hashlib.sha256("|".join([salt, *map(str, parts)]).encode()).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def visit_signed_off_check(*, patient: Patient, eye: str, day: dt.date | None) -> tuple[dt.date, list]:
    """The visit's day and scans; raises IntakeError unless every scan has the doctor's decision of record."""
    day, scans = visit_scans(patient=patient, eye=eye, day=day)
    if not scans:
        raise IntakeError("there are no scans of this eye on that day")
    decided = set(Review.objects.filter(scan__in=scans, is_second_opinion=False).values_list("scan_id", flat=True))
    if any(scan.pk not in decided for scan in scans):
        raise IntakeError("not every scan of this visit has the doctor's decision yet; review them first")
    return day, scans


def visit_report_dataset(*, patient: Patient, eye: str, day: dt.date | None, author) -> Dataset:
    """The Encapsulated PDF instance of a signed-off visit (raises IntakeError when it isn't signed off)."""
    day, scans = visit_signed_off_check(patient=patient, eye=eye, day=day)
    pdf = visit_report_pdf(patient=patient, eye=eye, day=day, clinic_name=settings.CLINIC_NAME)
    study_uid = (
        DicomMetadata.objects.filter(scan__in=scans)
        .exclude(study_instance_uid="")
        .values_list("study_instance_uid", flat=True)
        .first()
    ) or _uid("visit-study", patient.pk, eye, day.isoformat())
    now = timezone.localtime()

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ENCAPSULATED_PDF_STORAGE
    reviews = sorted(Review.objects.filter(scan__in=scans).values_list("scan_id", "pk"))
    meta.MediaStorageSOPInstanceUID = _uid("visit-report", patient.pk, eye, day.isoformat(), reviews)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = _uid("visit-report-series", patient.pk, eye, day.isoformat())
    ds.PatientName = f"{patient.last_name}^{patient.first_name}"
    ds.PatientID = patient.mrn
    ds.PatientBirthDate = f"{patient.date_of_birth:%Y%m%d}"
    ds.PatientSex = patient.sex if patient.sex in ("M", "F", "O") else ""
    ds.StudyDate = f"{day:%Y%m%d}"
    ds.StudyTime = ""
    ds.AccessionNumber = scans[0].appointment.accession_number if scans[0].appointment_id else ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.Modality = "DOC"
    ds.SeriesNumber = 900
    ds.InstanceNumber = 1
    ds.ConversionType = "WSD"
    ds.Manufacturer = settings.CLINIC_NAME[:64]
    ds.ContentDate = f"{now:%Y%m%d}"
    ds.ContentTime = f"{now:%H%M%S}"
    ds.AcquisitionDateTime = f"{now:%Y%m%d%H%M%S}"
    ds.Laterality = "R" if eye == "OD" else "L"
    ds.BurnedInAnnotation = "YES"  # the PDF names the patient
    ds.DocumentTitle = f"OCT visit report {eye} {day:%Y-%m-%d}"
    concept = Dataset()
    concept.CodeValue = "11528-7"
    concept.CodingSchemeDesignator = "LN"
    concept.CodeMeaning = "Radiology Report"
    ds.ConceptNameCodeSequence = Sequence([concept])
    ds.SeriesDescription = f"Visit report, signed off by {author.get_full_name() or author.get_username()}"[:64]
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(pdf)
    return ds
