"""Appointments over the REST API: book, reschedule, cancel, check in × every role, through the same
booking rules as the staff pages, with field-named errors and out-of-reach 404s."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from octclinic.api_testing import PERSONAS, error_of, expected, persona_client, reach
from patients.factories import PatientFactory
from scheduling.factories import FUTURE_MONDAY, AppointmentFactory, ResourceFactory, local
from scheduling.models import Appointment, AppointmentStatus

VIEWERS = {"technician", "doctor", "clinic_admin"}
BOOKERS = {"technician", "clinic_admin"}


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_and_read_by_role(db, persona):
    appointment = AppointmentFactory()
    client = persona_client(persona)
    reach(client, appointment.patient)
    response = client.get("/api/v1/appointments/")
    assert response.status_code == expected(persona, VIEWERS, 200)
    if response.status_code == 200:
        assert [row["id"] for row in response.json()["results"]] == [appointment.pk]
    assert client.get(f"/api/v1/appointments/{appointment.pk}/").status_code == expected(persona, VIEWERS, 200)
    assert client.get("/api/v1/resources/").status_code == expected(persona, VIEWERS, 200)


@pytest.mark.parametrize("persona", PERSONAS)
def test_book_by_role(db, persona):
    patient, resource = PatientFactory(), ResourceFactory()
    client = persona_client(persona)
    reach(client, patient)
    payload = {
        "patient": patient.pk,
        "resource": resource.pk,
        "start": _utc(local(FUTURE_MONDAY, 9)),
        "end": _utc(local(FUTURE_MONDAY, 9, 20)),
        "reason": "Follow-up",
    }
    response = client.post("/api/v1/appointments/", payload, format="json")
    assert response.status_code == expected(persona, BOOKERS, 201)
    assert Appointment.objects.count() == (1 if response.status_code == 201 else 0)
    if response.status_code == 201:
        body = response.json()
        assert body["start"] == "2030-01-07T08:00:00Z"  # 09:00 in Berlin, answered in UTC
        assert body["status"] == "scheduled"


@pytest.mark.parametrize("persona", PERSONAS)
def test_reschedule_cancel_check_in_by_role(db, persona):
    start = timezone.now().replace(second=0, microsecond=0)
    today = AppointmentFactory(start=start, end=start + dt.timedelta(minutes=20))
    # Fixed at 09:00 so that two hours later is still within opening hours, whichever slot the sequence is at.
    later = AppointmentFactory(start=local(FUTURE_MONDAY, 9), end=local(FUTURE_MONDAY, 9, 20))
    client = persona_client(persona)
    reach(client, today.patient, later.patient)
    ok = expected(persona, BOOKERS, 200)

    moved = client.post(
        f"/api/v1/appointments/{later.pk}/reschedule/",
        {"start": _utc(later.start + dt.timedelta(hours=2)), "end": _utc(later.end + dt.timedelta(hours=2)),
         "reason": "Device maintenance"},
        format="json",
    )  # fmt: skip
    assert moved.status_code == ok
    if ok == 200:
        assert len(moved.json()["reschedules"]) == 1
        assert moved.json()["reschedules"][0]["reason"] == "Device maintenance"

    checked_in = client.post(f"/api/v1/appointments/{today.pk}/check-in/")
    assert checked_in.status_code == ok
    today.refresh_from_db()
    assert (today.status == AppointmentStatus.CHECKED_IN) == (ok == 200)

    cancelled = client.post(f"/api/v1/appointments/{later.pk}/cancel/", {"reason": "Patient called"}, format="json")
    assert cancelled.status_code == ok
    later.refresh_from_db()
    assert (later.status == AppointmentStatus.CANCELLED) == (ok == 200)


def test_booking_rules_are_field_errors(db):
    patient, resource = PatientFactory(), ResourceFactory()
    client = persona_client("technician")
    base = {"patient": patient.pk, "resource": resource.pk}
    outside = client.post(
        "/api/v1/appointments/",
        {**base, "start": _utc(local(FUTURE_MONDAY, 20)), "end": _utc(local(FUTURE_MONDAY, 20, 20))},
        format="json",
    )
    assert outside.status_code == 400
    assert "Outside the opening hours" in error_of(outside)["fields"]["start"][0]

    naive = client.post(
        "/api/v1/appointments/", {**base, "start": "2030-01-07T09:00:00", "end": "2030-01-07T09:20:00"}, format="json"
    )
    assert naive.status_code == 400
    assert "UTC offset" in error_of(naive)["fields"]["start"][0]

    unknown = client.post(
        "/api/v1/appointments/",
        {**base, "patient": 999999, "start": _utc(local(FUTURE_MONDAY, 9)), "end": _utc(local(FUTURE_MONDAY, 10))},
        format="json",
    )
    assert unknown.status_code == 400
    assert "patient" in error_of(unknown)["fields"]
    assert not Appointment.objects.exists()


def test_double_booking_is_refused(db):
    existing = AppointmentFactory()
    other_patient = PatientFactory()
    response = persona_client("technician").post(
        "/api/v1/appointments/",
        {"patient": other_patient.pk, "resource": existing.resource_id, "start": _utc(existing.start),
         "end": _utc(existing.end)},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "already booked" in error_of(response)["fields"]["start"][0]
    assert Appointment.objects.count() == 1


def test_invalid_state_change_is_a_400(db):
    appointment = AppointmentFactory(status=AppointmentStatus.CANCELLED)
    response = persona_client("technician").post(f"/api/v1/appointments/{appointment.pk}/cancel/")
    assert response.status_code == 400
    assert "can't be marked cancelled" in error_of(response)["message"]


def test_appointment_out_of_reach_is_404(db):
    appointment = AppointmentFactory()
    client = persona_client("doctor")  # no care team, no grant
    assert client.get("/api/v1/appointments/").json()["results"] == []
    response = client.get(f"/api/v1/appointments/{appointment.pk}/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    booking = persona_client("technician")
    assert booking.get("/api/v1/appointments/999999/").status_code == 404
    assert booking.post("/api/v1/appointments/999999/check-in/").status_code == 404


def test_filters_for_syncing(db):
    old, new = AppointmentFactory(), AppointmentFactory(status=AppointmentStatus.CANCELLED)
    Appointment.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    client = persona_client("technician")
    synced = client.get("/api/v1/appointments/", {"updated_at__gte": "2021-01-01T00:00:00Z"}).json()["results"]
    assert [row["id"] for row in synced] == [new.pk]
    by_status = client.get("/api/v1/appointments/", {"status": "cancelled"}).json()["results"]
    assert [row["id"] for row in by_status] == [new.pk]
    by_patient = client.get("/api/v1/appointments/", {"patient": old.patient_id}).json()["results"]
    assert [row["id"] for row in by_patient] == [old.pk]
    assert client.get("/api/v1/appointments/", {"status": "nonsense"}).status_code == 400
    assert client.get("/api/v1/appointments/", {"patient": "1.5"}).status_code == 400


def test_list_query_count_does_not_grow_with_rows(db):
    client = persona_client("technician")
    resource = ResourceFactory()
    AppointmentFactory.create_batch(2, resource=resource)
    client.get("/api/v1/appointments/")  # first use writes the token's last_used_at
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/appointments/").status_code == 200
    for appointment in AppointmentFactory.create_batch(15, resource=resource):
        appointment.reschedules.create(
            old_start=appointment.start, old_end=appointment.end, old_resource=resource, new_start=appointment.start,
            new_end=appointment.end, new_resource=resource, reason="test",
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/appointments/").status_code == 200
    assert len(many) == len(few)
