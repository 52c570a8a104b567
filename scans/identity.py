"""Compare the identity written in a DICOM header with the patient staff chose.

Only the *names of the differing fields* leave this module: the values are PHI and must not reach
messages or logs. Blank header values are not evidence either way (many exports are anonymised).
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from pydicom.dataset import Dataset

from patients.models import Patient


def _fold(value: str) -> str:
    value = unicodedata.normalize("NFKD", value or "")
    return "".join(ch for ch in value if not unicodedata.combining(ch)).casefold().strip()


def identity_differences(dataset: Dataset, patient: Patient) -> list[str]:
    differences: list[str] = []
    header_id = str(dataset.get("PatientID", "") or "").strip()
    if header_id and _fold(header_id) != _fold(patient.mrn):
        differences.append("patient ID")

    name = dataset.get("PatientName")
    if name is not None and str(name).strip():
        family, given = (
            _fold(str(getattr(name, "family_name", "") or "")),
            _fold(str(getattr(name, "given_name", "") or "")),
        )
        if not family and not given:
            family = _fold(str(name))
        if (family and family != _fold(patient.last_name)) or (given and given != _fold(patient.first_name)):
            differences.append("name")

    birth = str(dataset.get("PatientBirthDate", "") or "").strip()
    if birth:
        try:
            parsed = dt.datetime.strptime(birth[:8], "%Y%m%d").date()
        except ValueError:
            parsed = None
        if parsed != patient.date_of_birth:
            differences.append("birth date")

    sex = str(dataset.get("PatientSex", "") or "").strip().upper()
    if sex in ("M", "F") and patient.sex in ("M", "F") and sex != patient.sex:
        differences.append("sex")
    return differences
