"""OPT volumes: staff page through frames and choose which ones get an AI reading."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from scans.errors import IntakeError
from scans.services import scan_frames_select, scan_upload

from .builders import TODAY, opt_volume_bytes


@pytest.fixture
def volume(kermany_jpegs, patient, technician):
    return scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=TODAY,
        file_name="vol.dcm",
        data=opt_volume_bytes(kermany_jpegs[:5]),
        uploaded_by=technician,
    )


@pytest.mark.django_db
def test_detail_pages_through_frames(doctor_client, volume):
    url = reverse("scans:detail", kwargs={"uuid": volume.uuid})
    default = doctor_client.get(url).content.decode()
    assert "Frame <strong data-frame-number>3</strong> of 5" in default
    assert "AI reads this frame" in default
    second = doctor_client.get(url + "?frame=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="frame-viewer")
    html = second.content.decode()
    assert "<html" not in html and "Frame <strong data-frame-number>2</strong> of 5" in html
    assert reverse("scans:frame", kwargs={"uuid": volume.uuid, "number": 2}) in html
    assert "OPT" in default and "Ophthalmic Tomography" in default  # DICOM details


@pytest.mark.django_db
def test_frame_endpoint_renders_each_frame(doctor_client, volume):
    response = doctor_client.get(reverse("scans:frame", kwargs={"uuid": volume.uuid, "number": 5}))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "L" and image.size == (volume.width, volume.height)
    assert doctor_client.get(reverse("scans:frame", kwargs={"uuid": volume.uuid, "number": 6})).status_code == 404


@pytest.mark.django_db
def test_choose_frames_through_the_page(technician_client, volume):
    volume.ai_status = "classified"
    volume.save()
    response = technician_client.post(
        reverse("scans:ai_frames", kwargs={"uuid": volume.uuid}), {"frames": "1-2, 5"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    volume.refresh_from_db()
    assert volume.ai_frames == [0, 1, 4] and volume.ai_status == "queued"
    assert "1-2, 5" in response.content.decode()
    bad = technician_client.post(
        reverse("scans:ai_frames", kwargs={"uuid": volume.uuid}), {"frames": "9"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 400 and "between 1 and 5" in bad.content.decode()


@pytest.mark.django_db
def test_service_validates_frame_range(volume, technician):
    with pytest.raises(IntakeError):
        scan_frames_select(scan=volume, frames=[], user=technician)
    with pytest.raises(IntakeError):
        scan_frames_select(scan=volume, frames=[5], user=technician)
