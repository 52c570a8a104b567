"""The admin's readings say what the AI's side was: a deferred reading shows no label, a refused image its reason,
a synthetic model's readings the notice; "approve selected" skips readings that suggest nothing."""

import html

import pytest
from django.urls import reverse

from scans.factories import ModelVersionRowFactory
from scans.models import Review
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:scans_prediction_changelist"


def test_list_and_review_page(doctor_client, doctor):
    patient = team_patient(doctor)
    demo = ModelVersionRowFactory(version="demo-1", card={"training_data": {"synthetic": True}})
    deferred = waiting_reading(patient, label="DME", deferred=True, model_version=demo)
    waiting_reading(patient, label="", recognised=False, refusal_reason="blank frame", model_version=demo)
    page = html.unescape(doctor_client.get(reverse(CHANGELIST)).content.decode())
    notice = "(synthetic demo model — not for clinical use)"
    assert f'<td class="field-ai_reading">AI unsure — read without AI suggestion {notice}</td>' in page
    assert f'<td class="field-ai_reading">Not recognised as a retinal OCT B-scan: blank frame {notice}</td>' in page
    review_page = doctor_client.get(reverse("admin:scans_prediction_review", args=[deferred.pk])).content.decode()
    assert 'value="approved"' not in review_page and 'data-ai-outcome="deferred"' in review_page
    assert "data-not-clinical" in review_page


def test_approve_selected_skips_readings_without_a_suggestion(doctor_client, doctor):
    patient = team_patient(doctor)
    readings = [waiting_reading(patient, label="CNV"), waiting_reading(patient, label="DME", deferred=True)]
    response = doctor_client.post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [p.pk for p in readings]}
    )
    assert response.status_code == 302
    assert list(Review.objects.values_list("prediction_id", flat=True)) == [readings[0].pk]
