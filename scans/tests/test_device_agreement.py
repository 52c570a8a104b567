"""Per-device readiness: every reading records the device its scan came from, and the models page, the model card
and the clinic admin's dashboard show AI–doctor agreement per device, warning about a device below the drift
threshold and about one with no reviewed readings ("not yet validated on this device")."""

import datetime as dt

import pytest
from django.urls import reverse

from scans.classification import scan_classify
from scans.device_readiness import DRIFT, FEW, OK, UNVALIDATED, VALIDATED_OFFLINE, device_agreement
from scans.devices import scan_device_name
from scans.factories import ModelVersionRowFactory, PredictionFactory, ReviewFactory
from scans.models import DicomMetadata, ReviewDecision
from scans.services import scan_upload
from scans.tests.ai_helpers import bscan_png
from scheduling.factories import AppointmentFactory, ResourceFactory

pytestmark = pytest.mark.django_db


def test_a_reading_records_the_device_its_scan_was_booked_on(deployed_model, patient, technician):
    appointment = AppointmentFactory(patient=patient, resource=ResourceFactory(name="OCT 2", model_name="Cirrus"))
    scan = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="b.png",
        data=bscan_png(seed=2),
        uploaded_by=technician,
        appointment=appointment,
    )
    (prediction,) = scan_classify(scan_id=scan.pk)
    prediction.refresh_from_db()
    assert prediction.device == "OCT 2 (Cirrus)"


def test_the_booking_names_the_device_and_the_dicom_header_when_there_is_none(patient, technician):
    appointment = AppointmentFactory(patient=patient, resource=ResourceFactory(name="OCT 2", model_name="Cirrus"))
    scan = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="b.png",
        data=bscan_png(seed=3),
        uploaded_by=technician,
        appointment=appointment,
    )
    DicomMetadata.objects.create(scan=scan, manufacturer="Zeiss", model_name="Cirrus 6000")
    scan.refresh_from_db()
    assert scan_device_name(scan) == "OCT 2 (Cirrus)"  # the clinic's own unit, as its device list names it
    type(scan).objects.filter(pk=scan.pk).update(appointment=None)
    scan.refresh_from_db()
    assert scan_device_name(scan) == "Zeiss Cirrus 6000"  # no booking: the header says


def _decisions(device: str, *, agreed: int, corrected: int, reviewer, version="v-dep"):
    for decision, n in ((ReviewDecision.APPROVED, agreed), (ReviewDecision.CORRECTED, corrected)):
        for _ in range(n):
            prediction = PredictionFactory(device=device, model_version=ModelVersionRowFactory(version=version))
            ReviewFactory(prediction=prediction, decision=decision, reviewer=reviewer)


@pytest.fixture
def clinic_devices(doctor):
    ModelVersionRowFactory(version="v-dep")
    ResourceFactory(name="OCT 9", model_name="Topcon Maestro")  # booked, never sent a scan
    _decisions("Heidelberg Engineering Spectralis", agreed=9, corrected=1, reviewer=doctor)
    _decisions("Optovue RTVue XR", agreed=2, corrected=5, reviewer=doctor)
    _decisions("Zeiss Cirrus 5000", agreed=1, corrected=0, reviewer=doctor)
    PredictionFactory(device="Nidek RS-3000", model_version=ModelVersionRowFactory(version="v-dep"))


def test_agreement_per_device_with_a_verdict_for_each(clinic_devices):
    rows = {row.device: row for row in device_agreement(versions=["v-dep"])}
    assert (rows["Heidelberg Engineering Spectralis"].status, rows["Heidelberg Engineering Spectralis"].rate) == (
        OK,
        0.9,
    )
    assert rows["Optovue RTVue XR"].status == DRIFT and rows["Optovue RTVue XR"].total == 7
    assert rows["Zeiss Cirrus 5000"].status == FEW
    assert rows["Nidek RS-3000"].status == UNVALIDATED and rows["Nidek RS-3000"].readings == 1
    assert rows["OCT 9 (Topcon Maestro)"].status == UNVALIDATED and rows["OCT 9 (Topcon Maestro)"].readings == 0
    # Warnings first: the page shows the problems before the devices that are fine.
    assert [r.status for r in device_agreement(versions=["v-dep"])][:3] == [DRIFT, UNVALIDATED, UNVALIDATED]


def test_the_models_page_and_the_card_show_it_with_warnings(clinic_devices, clinic_admin_client):
    page = clinic_admin_client.get(reverse("mlcore:list")).content.decode()
    assert "Agreement per OCT device" in page
    assert 'data-device-warning="drift"' in page and "Optovue RTVue XR is 29%" in page
    assert "Not yet validated on this device (OCT 9 (Topcon Maestro))" in page
    card = clinic_admin_client.get(reverse("mlcore:card", args=["v-dep"])).content.decode()
    assert 'data-device="Heidelberg Engineering Spectralis" data-status="ok"' in card


def test_the_clinic_admin_dashboard_warns_per_device(clinic_devices, clinic_admin_client):
    page = clinic_admin_client.get(reverse("home")).content.decode()
    assert "data-device-agreement" in page
    assert 'data-device-warning="drift"' in page and 'data-device-warning="unvalidated"' in page


def test_a_device_validated_before_go_live_shows_its_result(clinic_devices, clinic_admin_client):
    from mlcore.device_validation import device_validation_record
    from mlcore.models import ModelVersion

    version = ModelVersion.objects.get(version="v-dep")
    metrics = {"n": 120, "accuracy": 0.91, "urgent_sensitivity": 0.95, "urgent_specificity": 0.9}
    device_validation_record(model_version=version, device="OCT 9 (Topcon Maestro)", metrics=metrics, data="/x/topcon")
    rows = {row.device: row for row in device_agreement(versions=["v-dep"])}
    topcon = rows["OCT 9 (Topcon Maestro)"]
    assert (topcon.status, topcon.offline_accuracy, topcon.offline_n, topcon.warns) == (
        VALIDATED_OFFLINE,
        0.91,
        120,
        False,
    )
    page = clinic_admin_client.get(reverse("mlcore:list")).content.decode()
    assert "0.91 (n=120)" in page and "Not yet validated on this device (OCT 9" not in page
    # A validation that found the model poor on the device warns even before any review.
    device_validation_record(
        model_version=version, device="OCT 9 (Topcon Maestro)", metrics={**metrics, "accuracy": 0.4}, data="/x/topcon"
    )
    rows = {row.device: row for row in device_agreement(versions=["v-dep"])}
    assert (
        rows["OCT 9 (Topcon Maestro)"].status == DRIFT
        and "120 labelled scans" in rows["OCT 9 (Topcon Maestro)"].message
    )
