"""De-identification following DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile.

The de-identified copy is what leaves the clinical record (training sets, exports); the original
stays untouched. Choices where the profile offers several actions:

* UIDs (action U): every UID that is not a well-known DICOM UID (SOP class, transfer syntax, coding
  scheme…) is replaced by ``2.25.<n>`` derived from a keyed hash of the original. The mapping is
  deterministic, so all files of one study or series keep pointing at each other, and not
  reversible without the key (``SCANS_DEID_UID_SALT``, default: derived from SECRET_KEY).
* Z: kept present but emptied (Type 2 attributes an IOD requires).
* D: replaced by a dummy of the right VR (Type 1 attributes such as Content Date).
* X: removed, also inside sequences. Private tags, overlays and curves are removed.
* No retention options (no longitudinal dates, no device identity, no descriptions).

Pixel data is not altered: a file that declares Burned In Annotation = YES is flagged at intake.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io

from django.conf import settings
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID_dictionary

PROFILE_NAME = "PS3.15 Annex E Basic Application Confidentiality Profile"

# Action per attribute keyword (subset of PS3.15 Table E.1-1 relevant to ophthalmic images, plus
# every patient, physician, institution and free-text attribute the table lists).
ZERO = {
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "StudyDate",
    "StudyTime",
    "ContentCreatorName",
    "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
    "VerifyingObserverName",
    "PersonName",
    "PatientOrientation",
}
DUMMY = {
    "ContentDate": "19000101",
    "ContentTime": "000000",
}
REMOVE = {
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientTelecomInformation",
    "OtherPatientIDs",
    "OtherPatientNames",
    "OtherPatientIDsSequence",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthTime",
    "MilitaryRank",
    "BranchOfService",
    "MedicalRecordLocator",
    "EthnicGroup",
    "Occupation",
    "AdditionalPatientHistory",
    "PatientComments",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "PatientReligiousPreference",
    "PatientInsurancePlanCodeSequence",
    "PatientState",
    "PregnancyStatus",
    "SmokingStatus",
    "MedicalAlerts",
    "Allergies",
    "ResponsiblePerson",
    "ResponsibleOrganization",
    "ResponsiblePersonRole",
    "CountryOfResidence",
    "RegionOfResidence",
    "PatientPrimaryLanguageCodeSequence",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "InstitutionCodeSequence",
    "InstitutionalDepartmentTypeCodeSequence",
    "StationName",
    "OperatorsName",
    "OperatorIdentificationSequence",
    "PerformingPhysicianName",
    "PerformingPhysicianIdentificationSequence",
    "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence",
    "RequestingPhysician",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence",
    "ScheduledPerformingPhysicianName",
    "DeviceSerialNumber",
    "DeviceUID",
    "PlateID",
    "CassetteID",
    "GantryID",
    "DetectorID",
    "SoftwareVersions",
    "ImageComments",
    "StudyDescription",
    "SeriesDescription",
    "DerivationDescription",
    "ProtocolName",
    "AcquisitionComments",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "AdmissionID",
    "CurrentPatientLocation",
    "ServiceEpisodeID",
    "ServiceEpisodeDescription",
    "VisitComments",
    "AcquisitionDateTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "SeriesDate",
    "SeriesTime",
    "InstanceCreationDate",
    "InstanceCreationTime",
    "FrameAcquisitionDateTime",
    "FrameReferenceDateTime",
    "StudyArrivalDate",
    "StudyArrivalTime",
    "StudyCompletionDate",
    "StudyCompletionTime",
    "StudyVerifiedDate",
    "StudyVerifiedTime",
    "OverlayDate",
    "OverlayTime",
    "CurveDate",
    "CurveTime",
    "RequestAttributesSequence",
    "ReferencedPatientSequence",
    "ReferencedStudySequence",
    "ReferencedPerformedProcedureStepSequence",
    "PerformedProcedureStepID",
    "PerformedProcedureStepDescription",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedProcedureStepEndDate",
    "PerformedProcedureStepEndTime",
    "PerformedLocation",
    "PerformedStationName",
    "PerformedStationAETitle",
    "ScheduledStationAETitle",
    "ScheduledStationName",
    "ScheduledProcedureStepID",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepEndDate",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "RequestedProcedureComments",
    "ReasonForTheRequestedProcedure",
    "ReasonForStudy",
    "RequestingService",
    "StudyComments",
    "InterpretationText",
    "ImpressionsText",
    "ResultsComments",
    "TextComments",
    "TextString",
    "ContentSequence",
    "OriginalAttributesSequence",
    "ModifiedAttributesSequence",
    "DigitalSignaturesSequence",
    "ConfidentialityConstraintOnPatientDataDescription",
    "DataSetTrailingPadding",
    "OrderEnteredBy",
    "OrderEntererLocation",
    "OrderCallbackPhoneNumber",
    "IdentifyingComments",
    "FrameComments",
    "DischargeDiagnosisDescription",
    "PreMedication",
    "SpecialNeeds",
    "LastMenstrualDate",
    "PatientTransportArrangements",
    "DistributionName",
    "DistributionAddress",
    "ModifyingDeviceID",
    "ModifyingDeviceManufacturer",
    "SourceApplicationEntityTitle",
    "ReceivingApplicationEntityTitle",
    "InstanceOriginStatus",
    "StorageMediaFileSetID",
}
# UIDs that identify the sender's software or coding schemes, not the patient: kept.
KEEP_UIDS = {
    "ImplementationClassUID",
    "CodingSchemeUID",
    "SOPClassUID",
    "MediaStorageSOPClassUID",
    "ReferencedSOPClassUID",
    "TransferSyntaxUID",
    "MappingResourceUID",
    "ContextGroupExtensionCreatorUID",
}


def _salt() -> bytes:
    salt = getattr(settings, "SCANS_DEID_UID_SALT", "") or f"scans-deid:{settings.SECRET_KEY}"
    return hashlib.sha256(salt.encode()).digest()


def uid_replacement(uid: str) -> str:
    """Same input, same output (consistency within a study); no way back without the salt."""
    digest = hmac.new(_salt(), str(uid).strip().encode(), hashlib.sha256).digest()
    # 2.25.<128-bit integer>: the UUID-derived root of PS3.5 B.2, at most 44 characters.
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def _dummy_for(vr: str) -> str:
    return {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "PN": "ANONYMOUS", "AS": "000Y"}.get(
        vr, "ANONYMOUS" if vr in ("LO", "SH", "LT", "ST", "UT", "CS") else ""
    )


def _is_overlay_or_curve(tag) -> bool:
    group = tag.group
    return (0x5000 <= group <= 0x50FF) or (0x6000 <= group <= 0x60FF and tag.element in (0x3000, 0x4000, 0x4010))


def _clean(dataset: Dataset) -> None:
    for element in list(dataset):
        tag, keyword, vr = element.tag, element.keyword, element.VR
        if tag.is_private or _is_overlay_or_curve(tag):
            del dataset[tag]
            continue
        if keyword in REMOVE:
            del dataset[tag]
        elif keyword in ZERO:
            element.value = Sequence() if vr == "SQ" else ""
        elif keyword in DUMMY:
            element.value = DUMMY[keyword] if element.value else element.value
        elif vr == "UI" and keyword not in KEEP_UIDS and element.value:
            element.value = _replace_uids(element.value)
        elif vr == "SQ":
            for item in element.value:
                _clean(item)


def _replace_uids(value):
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return [_replace_one(v) for v in value]
    return _replace_one(value)


def _replace_one(uid: str) -> str:
    return uid if str(uid) in UID_dictionary else uid_replacement(uid)


def deidentify_dataset(dataset: Dataset) -> Dataset:
    """Return a de-identified deep copy; the input is not touched."""
    result = copy.deepcopy(dataset)
    _clean(result)
    result.PatientIdentityRemoved = "YES"
    result.DeidentificationMethod = PROFILE_NAME
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    result.DeidentificationMethodCodeSequence = Sequence([code])
    result.LongitudinalTemporalInformationModified = "REMOVED"
    meta = getattr(result, "file_meta", None)
    if meta is not None:
        for element in list(meta):
            if element.keyword == "MediaStorageSOPInstanceUID" and "SOPInstanceUID" in result:
                element.value = result.SOPInstanceUID
            elif element.keyword in (
                "SourceApplicationEntityTitle",
                "SendingApplicationEntityTitle",
                "ReceivingApplicationEntityTitle",
                "PrivateInformationCreatorUID",
                "PrivateInformation",
            ):
                del meta[element.tag]
        if "MediaStorageSOPClassUID" not in meta and "SOPClassUID" in result:
            meta.MediaStorageSOPClassUID = result.SOPClassUID
    return result


def deidentify_bytes(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    clean = deidentify_dataset(dataset)
    enforce = bool(getattr(clean, "file_meta", None) and clean.file_meta.get("MediaStorageSOPClassUID"))
    clean.save_as(buffer, enforce_file_format=enforce)
    return buffer.getvalue()


def identifying_keywords() -> set[str]:
    """Every keyword this profile empties or removes (the de-identification test walks this list)."""
    return {kw for kw in (ZERO | REMOVE) if tag_for_keyword(kw) is not None}
