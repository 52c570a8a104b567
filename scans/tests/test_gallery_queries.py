"""The patient gallery and the scan timeline source run a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.factories import CareTeamFactory, PatientFactory
from patients.timeline import patient_timeline
from scans.factories import ScanFactory


def _render_gallery(user, patient) -> tuple[str, int]:
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load scan_tags %}{% patient_scan_gallery patient %}")
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({"request": request, "patient": patient}))
    return html, len(queries)


@pytest.mark.django_db
def test_gallery_query_count_is_constant(doctor):
    team = CareTeamFactory(members=[doctor])
    few, many = PatientFactory(care_team=team), PatientFactory(care_team=team)
    ScanFactory.create_batch(2, patient=few)
    ScanFactory.create_batch(20, patient=many, eye="OS")
    _render_gallery(doctor, few)  # warm the permission cache like any page does before the gallery
    html_few, count_few = _render_gallery(doctor, few)
    html_many, count_many = _render_gallery(doctor, many)
    assert html_few.count('class="scan-card"') == 2
    assert html_many.count('class="scan-card"') == 20
    assert count_few == count_many
    assert count_many <= 2


@pytest.mark.django_db
def test_timeline_source_query_count_is_constant(django_assert_num_queries):
    few, many = PatientFactory(), PatientFactory()
    ScanFactory.create_batch(2, patient=few)
    ScanFactory.create_batch(20, patient=many)
    from scans.selectors import scan_timeline_entries

    with django_assert_num_queries(1):
        entries_few = scan_timeline_entries(few)
    with django_assert_num_queries(1):
        entries_many = scan_timeline_entries(many)
    assert len(entries_few) == 2 and len(entries_many) == 20
    entry = entries_many[0]
    assert entry.kind == "scan" and entry.eye == "OD" and entry.status == "queued"
    assert entry.url.startswith("/scans/")


@pytest.mark.django_db
def test_patient_timeline_includes_scans():
    patient = PatientFactory()
    scan = ScanFactory(patient=patient)
    entries = [e for e in patient_timeline(patient=patient) if e.kind == "scan"]
    assert [e.url for e in entries] == [reverse("scans:detail", kwargs={"uuid": scan.uuid})]


@pytest.mark.django_db
def test_gallery_page_shows_thumbnails_eye_date_and_ai_status(doctor_client, doctor):
    patient = PatientFactory(care_team=CareTeamFactory(members=[doctor]))
    scan = ScanFactory(patient=patient, eye="OS", ai_status="awaiting_model")
    response = doctor_client.get(reverse("scans:patient_gallery", kwargs={"patient_pk": patient.pk}))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("scans:file", kwargs={"uuid": scan.uuid, "kind": "thumbnail"}) in html
    assert "OS" in html and scan.acquired_on.strftime("%d.%m.%Y") in html and "Awaiting a model" in html
    assert "Upload scans" not in html  # doctors view, they do not upload
