"""The review screen: image, heatmap toggle, probabilities, earlier scans of the same eye with their decisions,
and second opinions with disagreements visible."""

import pytest
from django.urls import reverse

from scans.factories import ReviewFactory
from scans.models import Review, SecondOpinionRequest
from scans.review import review_decide, review_second_opinion_request
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db


def test_shows_image_probabilities_and_history_of_the_same_eye(doctor_client, doctor):
    patient = team_patient(doctor)
    earlier = waiting_reading(patient, label="DRUSEN", eye="OD")
    ReviewFactory(prediction=earlier, reviewer=doctor, decision="corrected", label="CNV")
    other_eye = waiting_reading(patient, eye="OS")
    current = waiting_reading(patient, label="CNV", eye="OD")
    page = doctor_client.get(reverse("scans:review", args=[current.scan.uuid])).content.decode()
    assert reverse("scans:file", args=[current.scan.uuid, "preview"]) in page
    assert "data-review-approve" in page and 'data-shortcut="u"' in page and "scans/review.js" in page
    assert "<td>CNV</td><td>0.900</td>" in page
    history = page[page.index("data-eye-history") :]
    assert f"scan #{earlier.scan_id}" in history and "Corrected CNV" in history
    assert f"scan #{other_eye.scan_id}" not in history


def test_second_opinion_is_asked_answered_and_disagreement_shown(doctor, other_doctor, client):
    reading = waiting_reading(team_patient(doctor), label="CNV")
    review_decide(scan=reading.scan, reviewer=doctor, decision="approved")
    request = review_second_opinion_request(scan=reading.scan, requested_by=doctor, colleague=other_doctor)
    # The colleague is outside the care team: the request grants them this one patient.
    client.force_login(other_doctor)
    queue = client.get(reverse("scans:review_queue")).content.decode()
    assert str(reading.scan.uuid) in queue and "second opinion asked" in queue
    response = client.post(
        reverse("scans:review_decide", args=[reading.scan.uuid]), {"decision": "corrected", "label": "DME"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.review.is_second_opinion and request.answered_at is not None
    assert Review.objects.filter(scan=reading.scan).count() == 2
    page = client.get(reverse("scans:review", args=[reading.scan.uuid])).content.decode()
    assert "data-disagreement" in page and "The doctors disagree" in page


def test_second_opinion_form_refuses_self_and_non_doctors(doctor_client, doctor, technician):
    reading = waiting_reading(team_patient(doctor))
    url = reverse("scans:review_second_opinion", args=[reading.scan.uuid])
    for colleague in (doctor, technician):
        response = doctor_client.post(url, {"colleague": colleague.pk})
        assert response.status_code == 400
    assert not SecondOpinionRequest.objects.exists()


@pytest.mark.parametrize("persona", ["technician_client", "clinic_admin_client", "anonymous_client"])
def test_non_doctors_cannot_open_or_post(request, persona, doctor):
    reading = waiting_reading(team_patient(doctor))
    client = request.getfixturevalue(persona)
    expected = 302 if persona == "anonymous_client" else 403
    assert client.get(reverse("scans:review", args=[reading.scan.uuid])).status_code == expected
    response = client.post(reverse("scans:review_decide", args=[reading.scan.uuid]), {"decision": "approved"})
    assert response.status_code == expected
    assert not Review.objects.exists()


def test_gallery_and_timeline_show_the_decision(doctor_client, doctor):
    reading = waiting_reading(team_patient(doctor), label="CNV")
    review_decide(scan=reading.scan, reviewer=doctor, decision="corrected", label="DME")
    patient = reading.scan.patient
    gallery = doctor_client.get(reverse("scans:patient_gallery", args=[patient.pk])).content.decode()
    assert 'data-decision="corrected"' in gallery and "Corrected DME" in gallery
    assert f'href="{reverse("scans:visit_report", args=[patient.pk, "OD"])}"' in gallery
    timeline = doctor_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "doctor: Corrected DME" in timeline
