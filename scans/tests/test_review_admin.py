"""Doctors approve in the admin too: filters, bulk "approve selected", per-item correction; clinic admins and
doctors outside the care team cannot."""

import pytest
from django.urls import reverse

from patients.factories import PatientFactory
from scans.models import Review
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:scans_prediction_changelist"


def bulk_approve(client, predictions):
    return client.post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [p.pk for p in predictions]}
    )


def test_bulk_approve_selected(doctor_client, doctor):
    patient = team_patient(doctor)
    readings = [waiting_reading(patient, label=label) for label in ("CNV", "NORMAL")]
    response = bulk_approve(doctor_client, readings)
    assert response.status_code == 302
    assert sorted(Review.objects.values_list("label", flat=True)) == ["CNV", "NORMAL"]
    assert set(Review.objects.values_list("reviewer", flat=True)) == {doctor.pk}


def test_bulk_approve_skips_readings_of_other_teams(doctor_client, doctor):
    mine = waiting_reading(team_patient(doctor))
    theirs = waiting_reading(PatientFactory())
    bulk_approve(doctor_client, [mine, theirs])
    assert list(Review.objects.values_list("scan_id", flat=True)) == [mine.scan_id]


def test_clinic_admin_has_no_approve_action(clinic_admin_client, doctor):
    reading = waiting_reading(team_patient(doctor))
    page = clinic_admin_client.get(reverse(CHANGELIST)).content.decode()
    assert f"Scan #{reading.scan_id} " in page  # they see the readings
    assert "approve_selected" not in page and "approve / correct" not in page
    bulk_approve(clinic_admin_client, [reading])
    url = reverse("admin:scans_prediction_review", args=[reading.pk])
    assert clinic_admin_client.post(url, {"decision": "approved"}).status_code == 403
    assert not Review.objects.exists()


def test_per_item_correction(doctor_client, doctor):
    reading = waiting_reading(team_patient(doctor), label="DRUSEN")
    url = reverse("admin:scans_prediction_review", args=[reading.pk])
    assert doctor_client.post(url, {"decision": "corrected", "label": "DRUSEN"}).status_code == 400
    response = doctor_client.post(url, {"decision": "corrected", "label": "CNV", "note": "membrane"})
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.decision, review.label, review.prediction_id) == ("corrected", "CNV", reading.pk)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=unreviewed", {"DME", "NORMAL"}),
        ("?status=reviewed", {"CNV"}),
        ("?label=DME", {"DME"}),
        ("?urgency=urgent", {"CNV", "DME"}),
    ],
)
def test_filters(doctor_client, doctor, query, expected):
    patient = team_patient(doctor)
    done = waiting_reading(patient, label="CNV")
    waiting_reading(patient, label="DME")
    waiting_reading(patient, label="NORMAL")
    Review.objects.create(scan=done.scan, prediction=done, decision="approved", label="CNV", reviewer=doctor)
    page = doctor_client.get(reverse(CHANGELIST) + query).content.decode()
    shown = {label for label in ("CNV", "DME", "NORMAL") if f'<td class="field-ai_reading">{label}</td>' in page}
    assert shown == expected
