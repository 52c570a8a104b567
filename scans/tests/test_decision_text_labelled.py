"""The timeline and the gallery name a decision as the review pages do: a label chosen where the AI suggested
nothing (deferred, or not recognised as OCT) "Labelled", a changed suggestion "Corrected"."""

import html

import pytest
from django.urls import reverse

from scans.factories import ReviewFactory
from scans.review_selectors import decision_text, scans_with_decision
from scans.selectors import scan_timeline_entries
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(doctor):
    patient = team_patient(doctor)

    def decide(decision, doctors_label, **reading):
        prediction = waiting_reading(patient, **reading)
        ReviewFactory(prediction=prediction, reviewer=doctor, decision=decision, label=doctors_label)
        return prediction.scan

    return patient, {
        "suggestion corrected": decide("corrected", "DME", label="CNV"),
        "suggestion approved": decide("approved", "CNV", label="CNV"),
        "deferred": decide("corrected", "DRUSEN", label="NORMAL", deferred=True),
        "refused": decide("corrected", "NORMAL", label="", recognised=False, refusal_reason="blank frame"),
        "refused ungradable": decide("ungradable", "", label="", recognised=False, refusal_reason="blank frame"),
    }


def test_decision_text(decided):
    patient, scans = decided
    annotated = {scan.pk: scan for scan in scans_with_decision(patient.scans.all())}
    assert {name: decision_text(annotated[scan.pk]) for name, scan in scans.items()} == {
        "suggestion corrected": "Corrected DME",
        "suggestion approved": "Approved CNV",
        "deferred": "Labelled DRUSEN",
        "refused": "Labelled NORMAL",
        "refused ungradable": "Ungradable (image quality)",
    }


def test_the_timeline_and_gallery_say_labelled(doctor_client, decided, django_assert_max_num_queries):
    patient, scans = decided
    with django_assert_max_num_queries(2):  # still one query for the scans, one for their models' provenance
        details = {entry.extra["scan_uuid"]: entry.detail for entry in scan_timeline_entries(patient)}
    assert details[str(scans["deferred"].uuid)].endswith("doctor: Labelled DRUSEN")
    assert details[str(scans["suggestion corrected"].uuid)].endswith("doctor: Corrected DME")
    page = html.unescape(doctor_client.get(reverse("patients:detail", args=[patient.pk])).content.decode())
    assert "Labelled DRUSEN" in page and "Labelled NORMAL" in page and "Corrected DME" in page
    assert "Corrected DRUSEN" not in page and "Corrected NORMAL" not in page
