"""Association and storage failures answer with the proper DICOM status and leave nothing behind."""

from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import SecondaryCaptureImageStorage

from scans.models import ReceivedInstance, Scan
from scans.tests.builders import _base_dataset, secondary_capture_bytes
from scans.tests.conftest import stored_files
from scans.tests.dicom_peers import DEVICE_AE, OUR_AE, dicom_file, dicom_server_fixture, storescu  # noqa: F401


def _send(port: int, dataset, calling_ae: str = DEVICE_AE):
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(SecondaryCaptureImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title=OUR_AE)
    assert assoc.is_established
    try:
        return assoc.send_c_store(dataset)
    finally:
        assoc.release()


def test_an_image_without_pixel_data_is_refused_as_not_matching_its_sop_class(dicom_server, patient, media_root):
    ds = _base_dataset("1.2.840.10008.5.1.4.1.1.7", patient_id=patient.mrn)  # Secondary Capture, but no image
    status = _send(dicom_server, ds)
    assert status.Status == 0xA900
    assert not Scan.objects.exists() and not ReceivedInstance.objects.exists()
    assert stored_files(media_root) == []


def test_storage_failure_answers_out_of_resources_and_stores_nothing(dicom_server, patient, media_root, monkeypatch):
    from scans import files

    def broken_store(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(files, "file_store", broken_store)
    ds = _base_dataset("1.2.840.10008.5.1.4.1.1.7", patient_id=patient.mrn)
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 8, 8, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = bytes(64)
    assert _send(dicom_server, ds).Status == 0xA700
    assert not Scan.objects.exists() and stored_files(media_root) == []


def test_a_calling_ae_title_not_allowed_is_rejected_at_association(dicom_server, tmp_path):
    ae = AE(ae_title="INTRUDER")
    ae.add_requested_context(SecondaryCaptureImageStorage)
    assoc = ae.associate("127.0.0.1", dicom_server, ae_title=OUR_AE)
    assert assoc.is_rejected
    data = secondary_capture_bytes(patient_id="UNKNOWN-1")
    result = storescu(port=dicom_server, calling_ae="INTRUDER", files=[dicom_file(tmp_path, data)])
    assert result.returncode != 0 and "Association Rejected" in result.stderr + result.stdout
    assert not ReceivedInstance.objects.exists()


def test_a_wrong_called_ae_title_is_rejected(dicom_server):
    ae = AE(ae_title=DEVICE_AE)
    ae.add_requested_context(SecondaryCaptureImageStorage)
    assert ae.associate("127.0.0.1", dicom_server, ae_title="SOMEONE-ELSE").is_rejected
