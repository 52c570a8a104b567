"""Exports say what the AI's side of each decision was (deferred, recognised, the refusal reason) and which model
made the reading (version, synthetic, the notice), identified and de-identified alike."""

import csv
import io
import json

import pytest
from django.urls import reverse

from scans.factories import ModelVersionRowFactory, ReviewFactory
from scans.review_export import DEIDENTIFIED_FIELDS, IDENTIFIED_FIELDS
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db
COLUMNS = ("model_version", "synthetic", "model_notice", "deferred", "recognised", "refusal_reason")


@pytest.fixture
def decisions(doctor):
    patient = team_patient(doctor)
    demo = ModelVersionRowFactory(version="demo-1", status="retired", card={"training_data": {"synthetic": True}})
    clinic = ModelVersionRowFactory(version="clinic-1")
    ReviewFactory(prediction=waiting_reading(patient, label="CNV", model_version=clinic), reviewer=doctor)
    ReviewFactory(
        prediction=waiting_reading(patient, label="DME", deferred=True, model_version=demo),
        reviewer=doctor,
        decision="corrected",
        label="DME",
    )
    refused = waiting_reading(patient, label="", recognised=False, refusal_reason="blank frame", model_version=demo)
    ReviewFactory(prediction=refused, reviewer=doctor, decision="ungradable")


def test_the_columns_are_in_both_exports():
    assert set(COLUMNS) <= set(IDENTIFIED_FIELDS) and set(COLUMNS) <= set(DEIDENTIFIED_FIELDS)


def test_csv_rows(doctor_client, decisions):
    response = doctor_client.get(reverse("scans:reviews_export", args=["csv"]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [tuple(row[c] for c in COLUMNS) for row in rows] == [
        ("clinic-1", "False", "", "False", "True", ""),
        ("demo-1", "True", "synthetic demo model — not for clinical use", "True", "True", ""),
        ("demo-1", "True", "synthetic demo model — not for clinical use", "False", "False", "blank frame"),
    ]
    assert [row["agrees_with_ai"] for row in rows] == ["True", "", ""]


def test_deidentified_json_rows(clinic_admin_client, decisions):
    response = clinic_admin_client.get(reverse("scans:reviews_export", args=["json"]) + "?deidentified=1")
    rows = json.loads(response.content)["results"]
    assert [(r["deferred"], r["recognised"], r["refusal_reason"], r["synthetic"]) for r in rows] == [
        (False, True, "", False),
        (True, True, "", True),
        (False, False, "blank frame", True),
    ]
    assert all(set(r) == set(DEIDENTIFIED_FIELDS) for r in rows)
