"""A doctor of the patient's care team approves, corrects or marks a reading ungradable; the decision is the
label of record and (approved/corrected) a training label with reviewer and time."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from scans.models import Review, ReviewDecision
from scans.review import review_decide
from scans.review_selectors import reviewed_training_labels
from scans.tests.review_helpers import team_patient, waiting_reading
from scans.training_source import approved_scan_items, patient_group_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def reading(doctor):
    return waiting_reading(team_patient(doctor), label="DME")


def decide(client, prediction, **data):
    return client.post(reverse("scans:review_decide", args=[prediction.scan.uuid]), data)


def test_approve_records_the_ai_label_as_a_training_label(doctor_client, doctor, reading):
    response = decide(doctor_client, reading, decision="approved", note="clear fluid")
    assert response.status_code == 302
    review = Review.objects.get(scan=reading.scan)
    assert (review.decision, review.label, review.ai_label, review.reviewer) == ("approved", "DME", "DME", doctor)
    assert review.note == "clear fluid" and review.model_version_id == reading.model_version_id
    assert list(reviewed_training_labels()) == [review]
    [item] = list(approved_scan_items())
    assert item.label == "DME" and item.group == patient_group_key(reading.scan.patient_id)
    assert str(doctor.pk) in item.provenance and item.load()[:8] == b"\x89PNG\r\n\x1a\n"


def test_correct_to_another_label(doctor_client, reading):
    response = decide(doctor_client, reading, decision="corrected", label="DRUSEN")
    assert response.status_code == 302
    review = Review.objects.get(scan=reading.scan)
    assert (review.decision, review.label, review.agrees_with_ai) == ("corrected", "DRUSEN", False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"decision": "corrected", "label": ""}, "Choose the label the scan should have."),
        ({"decision": "corrected", "label": "DME"}, "approve the reading instead"),
        ({"decision": "corrected", "label": "GLAUCOMA"}, "Select a valid choice"),
        ({"decision": "maybe"}, "Select a valid choice"),
    ],
)
def test_bad_decisions_get_a_form_error_and_store_nothing(doctor_client, reading, data, message):
    response = decide(doctor_client, reading, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Review.objects.exists()


def test_ungradable_is_no_training_label(doctor_client, reading):
    decide(doctor_client, reading, decision="ungradable", note="motion artefact")
    review = Review.objects.get(scan=reading.scan)
    assert (review.decision, review.label) == (ReviewDecision.UNGRADABLE, "")
    assert not reviewed_training_labels().exists()
    assert list(approved_scan_items()) == []


def test_a_scan_is_decided_once(doctor, other_doctor, reading):
    reading.scan.patient.care_team.members.add(other_doctor)
    review_decide(scan=reading.scan, reviewer=doctor, decision="approved")
    with pytest.raises(ValidationError, match="already been reviewed"):
        review_decide(scan=reading.scan, reviewer=other_doctor, decision="approved")
    with pytest.raises(ValidationError, match="already reviewed"):
        review_decide(scan=reading.scan, reviewer=doctor, decision="ungradable")
    assert Review.objects.count() == 1


@pytest.mark.parametrize("persona", ["technician", "clinic_admin", "other_doctor"])
def test_only_doctors_of_the_team_may_decide(request, persona, reading):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        review_decide(scan=reading.scan, reviewer=user, decision="approved")
    assert not Review.objects.exists()


def test_after_deciding_the_next_in_queue_opens(doctor_client, doctor, reading):
    following = waiting_reading(reading.scan.patient, label="NORMAL")
    response = decide(doctor_client, reading, decision="approved")
    assert response.url == reverse("scans:review", args=[following.scan.uuid])
    response = decide(doctor_client, following, decision="approved")
    assert response.url == reverse("scans:review_queue")
