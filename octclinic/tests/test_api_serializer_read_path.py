"""The API's model serializers answer exactly what DRF's own ``to_representation`` answers, for every
serializer and the shapes its rows take (null and set foreign keys, empty and stored files, JSON columns,
dotted sources through a missing relation, nested lists)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from octclinic.api_fields import ApiModelSerializer
from octclinic.factories import DoctorFactory, TechnicianFactory
from patients.api import PatientSerializer
from patients.factories import PatientFactory
from scans.api import PredictionSerializer, ScanSerializer
from scans.factories import PredictionFactory, ReviewFactory, ScanFactory
from scans.review_api import ReviewSerializer
from scheduling import services as scheduling_services
from scheduling.api import AppointmentSerializer, ResourceSerializer
from scheduling.factories import AppointmentFactory, ResourceFactory

pytestmark = pytest.mark.django_db


def _both(serializer_class, instances, monkeypatch) -> tuple[list, list]:
    context = {"request": Request(APIRequestFactory().get("/api/v1/"))}
    ours = serializer_class(instances, many=True, context=context).data
    with monkeypatch.context() as patched:
        patched.setattr(ApiModelSerializer, "to_representation", serializers.ModelSerializer.to_representation)
        drf = serializer_class(instances, many=True, context=context).data
    return ours, drf


def test_scans_and_readings(monkeypatch):
    patient = PatientFactory()
    appointment = AppointmentFactory(patient=patient)
    plain = ScanFactory(patient=patient)
    booked = ScanFactory(patient=patient, appointment=appointment, uploaded_by=TechnicianFactory())
    booked.warnings = ["Low contrast"]
    booked.ai_frames = [0, 2]
    booked.save(update_fields=["warnings", "ai_frames"])
    reading = PredictionFactory(scan=plain)
    ours, drf = _both(ScanSerializer, [plain, booked], monkeypatch)
    assert ours == drf
    assert ours[1]["appointment"] == appointment.pk and ours[0]["appointment"] is None
    assert ours[1]["warnings"] == ["Low contrast"] and "original" in ours[0]["files"]
    ours, drf = _both(PredictionSerializer, [reading], monkeypatch)
    assert ours == drf and ours[0]["label"] == reading.label


def test_patients(monkeypatch):
    patients = [PatientFactory(), PatientFactory(email="", phone="")]
    patients[0].archived_at = timezone.now()
    patients[0].save(update_fields=["archived_at"])
    ours, drf = _both(PatientSerializer, patients, monkeypatch)
    assert ours == drf
    assert ours[0]["archived_at"].endswith("Z")


def test_appointments_with_reschedules_and_resources(monkeypatch):
    appointment = AppointmentFactory(technician=None)
    scheduling_services.appointment_reschedule(
        appointment=appointment,
        start=appointment.start + timezone.timedelta(days=7),
        end=appointment.end + timezone.timedelta(days=7),
        reason="Patient asked",
        changed_by=TechnicianFactory(),
    )
    ours, drf = _both(AppointmentSerializer, [appointment], monkeypatch)
    assert ours == drf
    assert ours[0]["reschedules"] and ours[0]["technician"] is None
    ours, drf = _both(ResourceSerializer, [ResourceFactory()], monkeypatch)
    assert ours == drf and ours[0]["opening_hours"]


def test_reviews_with_and_without_a_model_version(monkeypatch):
    doctor = DoctorFactory()
    reviews = [ReviewFactory(reviewer=doctor), ReviewFactory(reviewer=doctor, model_version=None)]
    ours, drf = _both(ReviewSerializer, reviews, monkeypatch)
    assert ours == drf
    assert ours[0]["model_version"] and ours[1]["model_version"] is None


@pytest.mark.parametrize(
    "serializer_class",
    [
        ScanSerializer,
        PredictionSerializer,
        PatientSerializer,
        AppointmentSerializer,
        ResourceSerializer,
        ReviewSerializer,
    ],
)
def test_fields_built_once_are_the_fields_drf_builds(serializer_class):
    first, second = serializer_class().fields, serializer_class().fields
    fresh = serializers.ModelSerializer.get_fields(serializer_class())
    assert repr(dict(first)) == repr(fresh)
    assert all(first[name] is not second[name] for name in first)  # copies: each serializer binds its own
