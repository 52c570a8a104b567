"""The review queue a doctor needs (issue #17, part 6): who (name, MRN, age), which eye and when, what the AI said
(label with confidence, or that it deferred), urgency, waiting time against its target, the second-opinion state;
filters by urgency, device, scan date and "mine / my teams"; paged and counted in SQL with the filters too."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from octclinic.factories import DoctorFactory
from patients.factories import PatientFactory
from scans.models import Scan
from scans.review import review_second_opinion_request
from scans.review_selectors import QueueFilters, ReviewQueueList, review_queue
from scans.tests.review_helpers import team_patient, waiting_reading
from scheduling.factories import AppointmentFactory, ResourceFactory

pytestmark = pytest.mark.django_db
QUEUE = "scans:review_queue"


def on(reading, **fields):
    Scan.objects.filter(pk=reading.scan_id).update(**fields)
    return reading


def years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - dt.timedelta(days=1)


def test_each_row_says_who_what_when_and_how_long(doctor_client, doctor, settings):
    settings.REVIEW_TARGET_HOURS = {"urgent": 24, "routine": 168, "observation": 720}
    patient = team_patient(doctor)
    patient.first_name, patient.last_name, patient.mrn, patient.date_of_birth = (
        "Erika",
        "Muster",
        "MRN-77",
        years_ago(66),
    )
    patient.save()
    device = ResourceFactory(name="Spectralis 2")
    cnv = on(
        waiting_reading(patient, label="CNV", hours_ago=30, confidence=0.87, eye="OS"),
        acquired_on=dt.date(2026, 11, 30),
        appointment=AppointmentFactory(patient=patient, resource=device),
    )
    unsure = waiting_reading(patient, label="NORMAL", deferred=True, confidence=0.4)
    colleague = DoctorFactory(first_name="Bea", last_name="Berger")
    review_second_opinion_request(scan=cnv.scan, requested_by=doctor, colleague=colleague)

    page = doctor_client.get(reverse(QUEUE)).content.decode()
    row = page[page.index(f'data-queue-item="{cnv.scan.uuid}"') :].split("</tr>")[0]
    for shown in ("Muster, Erika", "MRN MRN-77", "<td>66</td>", "<td>OS</td>", "30.11.2026", "Spectralis 2"):
        assert shown in row, shown
    assert "CNV <small" in row and "87 %" in row
    assert "30.0 h / 24 h" in row and "overdue" in row
    assert 'data-state="pending"' in row and "second opinion pending from Bea Berger" in row
    deferred = page[page.index(f'data-queue-item="{unsure.scan.uuid}"') :].split("</tr>")[0]
    assert "data-deferred" in deferred and "NORMAL" not in deferred  # deferred: no label shown


def test_filters_by_urgency_device_date_and_scope(doctor_client, doctor, other_doctor):
    team = team_patient(doctor)
    granted = PatientFactory()
    device = ResourceFactory(name="OCT-East")
    urgent = waiting_reading(team, label="CNV")
    routine = on(waiting_reading(team, label="DRUSEN"), acquired_on=dt.date(2026, 1, 10))
    on_device = on(waiting_reading(team, label="NORMAL"), appointment=AppointmentFactory(patient=team, resource=device))
    outside = waiting_reading(granted, label="CNV")
    from guardian.shortcuts import assign_perm

    assign_perm("patients.view_patient", doctor, granted)
    Scan.objects.exclude(pk=routine.scan_id).update(acquired_on=dt.date(2026, 6, 1))
    asked_by_me = waiting_reading(team, label="DME")
    review_second_opinion_request(scan=asked_by_me.scan, requested_by=doctor, colleague=other_doctor)

    def shown(**params):
        return {item.scan.pk for item in review_queue(user=doctor, filters=QueueFilters(**params))}

    everything = {r.scan_id for r in (urgent, routine, on_device, outside, asked_by_me)}
    assert shown() == everything
    assert shown(urgency="urgent") == {urgent.scan_id, outside.scan_id, asked_by_me.scan_id}
    assert shown(device=device.pk) == {on_device.scan_id}
    assert shown(since=dt.date(2026, 1, 1), until=dt.date(2026, 1, 31)) == {routine.scan_id}
    assert shown(scope="teams") == everything - {outside.scan_id}
    assert shown(scope="mine") == {asked_by_me.scan_id}
    assert ReviewQueueList(user=doctor, filters=QueueFilters(urgency="urgent")).count() == 3

    page = doctor_client.get(reverse(QUEUE), {"urgency": "urgent", "scope": "teams"}).content.decode()
    assert str(urgent.scan.uuid) in page and str(outside.scan.uuid) not in page and str(routine.scan.uuid) not in page
    assert "2 waiting (filtered)" in page and "data-queue-filter-clear" in page
    bad = doctor_client.get(reverse(QUEUE), {"since": "not-a-date"})
    assert bad.status_code == 200 and "Scanned from" in bad.content.decode()


def test_second_opinions_asked_of_me_come_first_under_mine(doctor_client, doctor, other_doctor):
    patient = team_patient(doctor, other_doctor)
    waiting_reading(patient, label="CNV", uncertainty=0.9)
    asked = waiting_reading(patient, label="NORMAL")
    review_second_opinion_request(scan=asked.scan, requested_by=other_doctor, colleague=doctor)
    items = review_queue(user=doctor, filters=QueueFilters(scope="mine"))
    assert [i.scan.pk for i in items] == [asked.scan_id]
    assert items[0].second_opinion and items[0].second_opinions[0].state == "asked"


def test_filtered_pages_are_counted_in_sql_in_a_fixed_number_of_queries(doctor_client, doctor):
    patient = team_patient(doctor)
    device = ResourceFactory()
    waiting_reading(patient, label="CNV")
    params = {"urgency": "urgent", "device": "", "scope": "teams", "since": "2000-01-01"}
    with CaptureQueriesContext(connection) as few:
        assert doctor_client.get(reverse(QUEUE), params).status_code == 200
    for i in range(6):
        reading = waiting_reading(patient, label="CNV", uncertainty=i / 10)
        on(reading, appointment=AppointmentFactory(patient=patient, resource=device))
        review_second_opinion_request(scan=reading.scan, requested_by=doctor, colleague=DoctorFactory())
    with CaptureQueriesContext(connection) as many:
        assert doctor_client.get(reverse(QUEUE), params).status_code == 200
    assert len(many) == len(few)
    counts = [q["sql"] for q in many.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the page counts in SQL"


def test_the_api_queue_takes_the_same_filters(doctor):
    from octclinic.api_testing import token_client

    patient = team_patient(doctor)
    urgent = waiting_reading(patient, label="CNV")
    waiting_reading(patient, label="DRUSEN")
    client = token_client(doctor)
    body = client.get("/api/v1/reviews/queue/", {"urgency": "urgent"}).json()
    assert [item["scan"] for item in body["results"]] == [str(urgent.scan.uuid)]
    assert body["results"][0]["second_opinions"] == [] and body["results"][0]["confidence"] == 0.9
    assert client.get("/api/v1/reviews/queue/", {"since": "yesterday"}).status_code == 400
