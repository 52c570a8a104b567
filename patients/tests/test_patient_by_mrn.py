"""One MRN lookup for every entry point (booking form, DICOM receiver, reconciliation, PACS retrieval): compared
as registration stores MRNs, so case and surrounding spaces don't make a known patient unknown."""

import pytest

from patients.factories import PatientFactory
from patients.selectors import patient_by_mrn

pytestmark = pytest.mark.django_db


def test_finds_the_patient_whatever_the_case_and_spaces():
    patient = PatientFactory(mrn="AB-123")
    assert patient_by_mrn(" ab-123 ") == patient
    assert patient_by_mrn("AB-124") is None


def test_blank_finds_nobody():
    PatientFactory(mrn="AB-125")
    assert patient_by_mrn("   ") is None
