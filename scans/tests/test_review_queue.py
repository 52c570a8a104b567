"""The queue: most urgent first, then least certain, then longest waiting; overdue against the per-urgency
target; only the doctor's own team's patients; a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.factories import PatientFactory
from scans.factories import ReviewFactory
from scans.review_selectors import review_queue
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db


def test_sorted_by_urgency_then_uncertainty_then_waiting(doctor):
    patient = team_patient(doctor)
    normal = waiting_reading(patient, label="NORMAL", uncertainty=0.9, hours_ago=500)
    drusen = waiting_reading(patient, label="DRUSEN", uncertainty=0.1)
    cnv_sure_old = waiting_reading(patient, label="CNV", uncertainty=0.1, hours_ago=10)
    cnv_sure_new = waiting_reading(patient, label="CNV", uncertainty=0.1, hours_ago=1)
    dme_unsure = waiting_reading(patient, label="DME", uncertainty=0.7)
    order = [item.scan.pk for item in review_queue(user=doctor)]
    expected = [dme_unsure, cnv_sure_old, cnv_sure_new, drusen, normal]
    assert order == [p.scan_id for p in expected]


def test_overdue_against_the_target_of_its_urgency(doctor, settings):
    settings.REVIEW_TARGET_HOURS = {"urgent": 24, "routine": 168, "observation": 720}
    patient = team_patient(doctor)
    late_urgent = waiting_reading(patient, label="CNV", hours_ago=30)
    waiting_reading(patient, label="DRUSEN", hours_ago=30)  # routine: 30 h is within a week
    overdue = [item.scan.pk for item in review_queue(user=doctor) if item.overdue]
    assert overdue == [late_urgent.scan_id]


def test_page_highlights_overdue_and_leaves_out_reviewed_and_other_teams(doctor_client, doctor):
    patient = team_patient(doctor)
    late = waiting_reading(patient, label="CNV", hours_ago=48)
    done = waiting_reading(patient, label="DME")
    ReviewFactory(prediction=done, reviewer=doctor)
    elsewhere = waiting_reading(PatientFactory(), label="CNV")
    page = doctor_client.get(reverse("scans:review_queue")).content.decode()
    assert f'data-queue-item="{late.scan.uuid}" data-urgency="urgent" data-overdue' in page
    assert str(done.scan.uuid) not in page
    assert str(elsewhere.scan.uuid) not in page


def test_queue_page_query_count_does_not_grow(doctor_client, doctor):
    patient = team_patient(doctor)
    waiting_reading(patient)
    with CaptureQueriesContext(connection) as few:
        assert doctor_client.get(reverse("scans:review_queue")).status_code == 200
    for i in range(6):
        waiting_reading(patient, label="DRUSEN", uncertainty=i / 10)
    with CaptureQueriesContext(connection) as many:
        assert doctor_client.get(reverse("scans:review_queue")).status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize("persona", ["technician_client", "clinic_admin_client"])
def test_non_doctors_get_403_on_the_queue(request, persona):
    client = request.getfixturevalue(persona)
    assert client.get(reverse("scans:review_queue")).status_code == 403
    assert client.get(reverse("scans:review_next")).status_code == 403
