"""Modality Worklist (dcmtk's findscu -W as the device): today's open OCT appointments, not tomorrow's, filtered
by the device's station AE title and the Patient ID."""

import datetime as dt

from django.utils import timezone

from patients.factories import PatientFactory
from scans.dicom_worklist import study_instance_uid_for
from scans.tests.dicom_peers import DEVICE_AE, dicom_server_fixture, findscu_worklist  # noqa: F401
from scheduling.factories import AppointmentFactory, ResourceFactory, local
from scheduling.models import AppointmentStatus

KEYS = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyInstanceUID",
    "ScheduledProcedureStepSequence[0].Modality=OPT",
    "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
]


def _schedule():
    today = timezone.localdate()
    device = ResourceFactory(dicom_ae_title=DEVICE_AE)
    other = ResourceFactory(dicom_ae_title="OCT-DEVICE-2")
    erika = PatientFactory(
        mrn="MRN-1", first_name="Erika", last_name="Müller", date_of_birth=dt.date(1960, 3, 14), sex="F"
    )
    hans = PatientFactory(mrn="MRN-2", first_name="Hans", last_name="Meier", sex="M")
    today_on_device = AppointmentFactory(
        patient=erika, resource=device, start=local(today, 0, 20), end=local(today, 0, 40)
    )
    today_elsewhere = AppointmentFactory(
        patient=hans, resource=other, start=local(today, 23, 0), end=local(today, 23, 20)
    )
    AppointmentFactory(
        patient=PatientFactory(mrn="MRN-3"),
        resource=device,
        start=local(today, 1, 0),
        end=local(today, 1, 20),
        status=AppointmentStatus.CANCELLED,
    )
    tomorrow = today + dt.timedelta(days=1)
    AppointmentFactory(patient=hans, resource=device, start=local(tomorrow, 0, 20), end=local(tomorrow, 0, 40))
    return today, today_on_device, today_elsewhere


def test_worklist_lists_todays_open_appointments_and_not_tomorrows(dicom_server, tmp_path):
    today, on_device, elsewhere = _schedule()
    answers = findscu_worklist(
        port=dicom_server,
        keys=KEYS + [f"ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate={today:%Y%m%d}"],
        out_dir=tmp_path / "all",
    )
    assert [a.AccessionNumber for a in answers] == [on_device.accession_number, elsewhere.accession_number]
    first = answers[0]
    assert str(first.PatientName) == "Müller^Erika"
    assert (first.PatientID, first.PatientBirthDate, first.PatientSex) == ("MRN-1", "19600314", "F")
    assert first.StudyInstanceUID == study_instance_uid_for(on_device)
    step = first.ScheduledProcedureStepSequence[0]
    start = timezone.localtime(on_device.start)
    assert (step.ScheduledStationAETitle, step.Modality) == (DEVICE_AE, "OPT")
    assert (step.ScheduledProcedureStepStartDate, step.ScheduledProcedureStepStartTime) == (
        f"{start:%Y%m%d}",
        f"{start:%H%M%S}",
    )

    # No date key: today, as a device asking for "its list" expects.
    undated = findscu_worklist(port=dicom_server, keys=KEYS, out_dir=tmp_path / "undated")
    assert len(undated) == 2

    tomorrow = today + dt.timedelta(days=1)
    later = findscu_worklist(
        port=dicom_server,
        keys=KEYS + [f"ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate={tomorrow:%Y%m%d}"],
        out_dir=tmp_path / "tomorrow",
    )
    assert [a.PatientID for a in later] == ["MRN-2"]


def test_worklist_filters_by_station_ae_title_and_patient_id(dicom_server, tmp_path):
    _today, on_device, elsewhere = _schedule()
    mine = findscu_worklist(
        port=dicom_server,
        keys=KEYS + [f"ScheduledProcedureStepSequence[0].ScheduledStationAETitle={DEVICE_AE}"],
        out_dir=tmp_path / "station",
    )
    assert [a.AccessionNumber for a in mine] == [on_device.accession_number]
    by_patient = findscu_worklist(port=dicom_server, keys=KEYS + ["PatientID=MRN-2"], out_dir=tmp_path / "patient")
    assert [a.AccessionNumber for a in by_patient] == [elsewhere.accession_number]
    other_modality = findscu_worklist(
        port=dicom_server,
        keys=[k for k in KEYS if "Modality" not in k] + ["ScheduledProcedureStepSequence[0].Modality=CT"],
        out_dir=tmp_path / "ct",
    )
    assert other_modality == []
