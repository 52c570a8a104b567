"""A patient's earlier study is pulled from the PACS (Debian's Orthanc) into their record: listed on the
patient's PACS page, retrieved with C-GET by the task's service, filed through intake on the right patient."""

from django.urls import reverse

from scans.models import PacsRetrieval, PacsRetrievalStatus, Scan
from scans.pacs import pacs_studies_find
from scans.pacs_services import pacs_retrieval_run
from scans.tests.builders import opt_volume_bytes, png_bytes, secondary_capture_bytes
from scans.tests.dicom_peers import dicom_server_fixture, orthanc_fixture  # noqa: F401


def _volume(tmp_path, **identity) -> bytes:
    paths = []
    for index in range(3):
        path = tmp_path / f"b-{index}.png"
        path.write_bytes(png_bytes(seed=10 + index, size=(128, 96)))
        paths.append(path)
    return opt_volume_bytes(paths, **identity)


def test_an_earlier_study_is_listed_and_retrieved_into_the_patients_record(orthanc, patient, technician, tmp_path):
    from django.test import Client

    earlier = _volume(tmp_path, patient_id=patient.mrn, laterality="L", study_uid="1.2.826.0.1.3680043.8.498.1")
    orthanc.store(earlier)
    orthanc.store(secondary_capture_bytes(patient_id="SOMEONE-ELSE"))  # another patient's study: never listed

    studies = pacs_studies_find(patient_id=patient.mrn)
    assert [s.study_instance_uid for s in studies] == ["1.2.826.0.1.3680043.8.498.1"]
    assert studies[0].modalities == ("OPT",) and studies[0].instances == 1

    client = Client()
    client.force_login(technician)
    page = client.get(reverse("scans:pacs_studies", args=[patient.pk]))
    assert page.status_code == 200 and "2024-03-01" in page.content.decode()
    response = client.post(
        reverse("scans:pacs_retrieve", args=[patient.pk]), {"study_instance_uid": "1.2.826.0.1.3680043.8.498.1"}
    )
    assert response.status_code == 302
    retrieval = PacsRetrieval.objects.get()
    assert retrieval.status == PacsRetrievalStatus.QUEUED and retrieval.requested_by == technician

    pacs_retrieval_run(retrieval_id=retrieval.pk)  # what the Celery task runs
    retrieval.refresh_from_db()
    assert retrieval.status == PacsRetrievalStatus.DONE, retrieval.message
    assert (retrieval.stored, retrieval.refused) == (1, 0)
    scan = Scan.objects.get(patient=patient)
    assert (scan.eye, scan.frame_count, scan.uploaded_by) == ("OS", 3, technician)
    assert scan.dicom.study_instance_uid == "1.2.826.0.1.3680043.8.498.1"

    again = PacsRetrieval.objects.create(patient=patient, study_instance_uid=retrieval.study_instance_uid)
    pacs_retrieval_run(retrieval_id=again.pk)
    again.refresh_from_db()
    assert (again.status, again.stored, again.duplicates) == (PacsRetrievalStatus.DONE, 0, 1)


def test_an_unreachable_pacs_is_reported_on_the_page(patient, technician_client, settings):
    settings.PACS_HOST, settings.PACS_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    settings.DICOM_TIMEOUT_SECONDS = 3
    page = technician_client.get(reverse("scans:pacs_studies", args=[patient.pk]))
    assert page.status_code == 200 and "The PACS could not be queried" in page.content.decode()


def test_a_bad_study_uid_is_refused_with_a_message(patient, technician_client, settings):
    settings.PACS_HOST = "127.0.0.1"
    response = technician_client.post(
        reverse("scans:pacs_retrieve", args=[patient.pk]), {"study_instance_uid": "1.2.<script>"}, follow=True
    )
    assert "not a valid DICOM UID" in response.content.decode()
    assert not PacsRetrieval.objects.exists()


def test_patients_outside_a_doctors_care_teams_have_no_pacs_page(patient, other_doctor):
    from django.test import Client

    client = Client()
    client.force_login(other_doctor)
    assert client.get(reverse("scans:pacs_studies", args=[patient.pk])).status_code == 403


def test_asking_twice_queues_one_retrieval_unless_the_first_was_lost(patient, technician):
    import datetime as dt

    from django.utils import timezone

    from scans.pacs_services import pacs_retrieval_request

    uid = "1.2.826.0.1.3680043.8.498.7"
    first = pacs_retrieval_request(patient=patient, study_instance_uid=uid, user=technician)
    assert pacs_retrieval_request(patient=patient, study_instance_uid=uid, user=technician) == first
    PacsRetrieval.objects.filter(pk=first.pk).update(requested_at=timezone.now() - dt.timedelta(hours=2))
    assert pacs_retrieval_request(patient=patient, study_instance_uid=uid, user=technician) != first
    assert PacsRetrieval.objects.count() == 2
