"""The scan page shows what the model saw: the reading's input rebuilt from the original by its version's
preprocessing, byte for byte the tensor serving computed, under the patient access check."""

import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from mlcore.preprocessing import image_prepare
from scans.classification import scan_classify
from scans.tests.ai_helpers import bscan_png, uploaded_scan

pytestmark = pytest.mark.django_db


def test_the_model_input_is_shown_and_is_what_the_model_saw(deployed_model, patient, doctor_client):
    scan = uploaded_scan(patient, seed=5)
    (prediction,) = scan_classify(scan_id=scan.pk)
    page = doctor_client.get(reverse("scans:detail", args=[scan.uuid])).content.decode()
    url = reverse("scans:model_input", args=[scan.uuid, prediction.pk])
    assert url in page and "What the AI saw" in page
    response = doctor_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"]
    shown = np.asarray(Image.open(io.BytesIO(response.content)))
    card = prediction.model_version.card
    expected = image_prepare(bscan_png(seed=5), input_size=card["input_size"], version=card["preprocessing_version"])
    assert shown.shape == (card["input_size"], card["input_size"])
    assert np.abs(shown / 127.5 - 1.0 - expected.tensor[:, :, 0]).max() <= 1 / 127.5 + 1e-6


def test_a_doctor_outside_the_care_team_gets_a_404(deployed_model, patient, other_doctor, client):
    scan = uploaded_scan(patient, seed=6)
    (prediction,) = scan_classify(scan_id=scan.pk)
    client.force_login(other_doctor)
    assert client.get(reverse("scans:model_input", args=[scan.uuid, prediction.pk])).status_code == 404
