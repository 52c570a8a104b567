"""CSV and JSON export of reviewed results, identified or de-identified, for the roles allowed, limited to
the patients the user may see; and the printable visit report (PDF)."""

import csv
import io
import json
import re
import zlib

import pytest
from django.urls import reverse

from scans.factories import ReviewFactory
from scans.review_export import DEIDENTIFIED_FIELDS
from scans.tests.review_helpers import team_patient, waiting_reading
from scans.training_source import patient_group_key

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    """The text operands of a PDF's (Flate-compressed) content streams: enough to find what was printed.

    Streams are cut by their declared /Length, not by searching for "endstream": embedded image bytes can
    contain that marker and would otherwise swallow the page's text stream.
    """
    chunks = []
    for match in re.finditer(rb"/Length (\d+)[^>]*>>\s*stream\r?\n", data):
        start = match.end()
        stream = data[start : start + int(match.group(1))]
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            chunks.append(stream)
    return " ".join(m.decode("latin-1") for m in re.findall(rb"\((.*?)\) ?Tj", b"".join(chunks), re.S))


@pytest.fixture
def reviewed(doctor):
    patient = team_patient(doctor)
    return ReviewFactory(prediction=waiting_reading(patient, label="DME"), reviewer=doctor, note="see me")


def test_identified_csv_for_the_doctor(doctor_client, reviewed):
    response = doctor_client.get(reverse("scans:reviews_export", args=["csv"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    patient = reviewed.scan.patient
    assert (row["mrn"], row["label"], row["decision"], row["note"]) == (patient.mrn, "DME", "approved", "see me")
    assert row["reviewed_at"].endswith("Z")


def test_deidentified_json_has_no_identity(clinic_admin_client, reviewed):
    response = clinic_admin_client.get(reverse("scans:reviews_export", args=["json"]) + "?deidentified=1")
    payload = json.loads(response.content)
    assert payload["deidentified"] is True and payload["count"] == 1
    [row] = payload["results"]
    assert set(row) == set(DEIDENTIFIED_FIELDS)
    patient = reviewed.scan.patient
    text = response.content.decode()
    for secret in (
        patient.mrn,
        patient.last_name,
        patient.date_of_birth.isoformat(),
        str(reviewed.scan.uuid),
        "see me",
    ):
        assert secret not in text
    assert row["patient_key"] == patient_group_key(patient.pk)


def test_export_is_limited_to_visible_patients(client, other_doctor, reviewed):
    client.force_login(other_doctor)
    response = client.get(reverse("scans:reviews_export", args=["json"]))
    assert json.loads(response.content)["count"] == 0


@pytest.mark.parametrize("persona", ["technician_client", "anonymous_client"])
def test_export_refused_to_other_roles(request, persona, reviewed):
    response = request.getfixturevalue(persona).get(reverse("scans:reviews_export", args=["csv"]))
    assert response.status_code in (302, 403)
    assert reviewed.scan.patient.mrn.encode() not in response.content


def test_unknown_format_is_404(doctor_client):
    assert doctor_client.get(reverse("scans:reviews_export", args=["xml"])).status_code == 404


def test_visit_report_pdf_has_reading_and_decision(doctor_client, reviewed):
    scan = reviewed.scan
    url = reverse("scans:visit_report", args=[scan.patient_id, scan.eye]) + f"?day={scan.acquired_on.isoformat()}"
    response = doctor_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert scan.patient.last_name.encode() not in response["Content-Disposition"].encode()
    text = pdf_text(response.content)
    assert "AI reading: DME" in text and "Doctor's decision: Approved - DME" in text
    assert scan.patient.mrn in text


def test_visit_report_bad_day_is_a_clear_400(doctor_client, reviewed):
    url = reverse("scans:visit_report", args=[reviewed.scan.patient_id, "OD"]) + "?day=yesterday"
    response = doctor_client.get(url)
    assert response.status_code == 400 and b"2026-01-31" in response.content
