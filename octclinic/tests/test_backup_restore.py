"""`manage.py backup` / `restore`: a round trip brings back records and media byte for byte, and a
damaged archive is refused before anything changes."""

import io
import tarfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from patients.factories import PatientFactory
from patients.models import Patient
from scheduling.factories import AppointmentFactory
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def own_media(settings, tmp_path):
    """A media store of this test's own, so the archive holds only what the test put there."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }


def test_round_trip(tmp_path, capsys):
    patient = PatientFactory(mrn="BK-0001", first_name="Bea")
    AppointmentFactory(patient=patient)
    default_storage.save("backup-test/scan.bin", ContentFile(b"\x00original bytes\xff"))
    archive = tmp_path / "clinic.tar.gz"
    call_command("backup", output=str(archive))
    assert archive.exists() and str(archive) in capsys.readouterr().out

    Patient.objects.filter(pk=patient.pk).update(first_name="Changed")
    Appointment.objects.all().delete()
    default_storage.delete("backup-test/scan.bin")
    default_storage.save("backup-test/scan.bin", ContentFile(b"something else"))

    call_command("restore", str(archive), yes=True)
    restored = Patient.objects.get(mrn="BK-0001")
    assert restored.first_name == "Bea"
    assert Appointment.objects.filter(patient=restored).count() == 1
    with default_storage.open("backup-test/scan.bin", "rb") as handle:
        assert handle.read() == b"\x00original bytes\xff"


def test_tampered_archive_is_refused_and_nothing_changes(tmp_path):
    PatientFactory(mrn="BK-0002", first_name="Kept")
    archive = tmp_path / "clinic.tar.gz"
    call_command("backup", output=str(archive))
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "db.json":
                data = data.replace(b"Kept", b"Evil")
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    Patient.objects.filter(mrn="BK-0002").update(first_name="Current")
    with pytest.raises(CommandError, match="checksum mismatch for db.json. Nothing was changed."):
        call_command("restore", str(tampered), yes=True)
    assert Patient.objects.get(mrn="BK-0002").first_name == "Current"


def test_missing_or_garbage_archive_gives_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such backup file"):
        call_command("restore", str(tmp_path / "nope.tar.gz"), yes=True)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a tarball")
    with pytest.raises(CommandError, match="not a readable backup archive"):
        call_command("restore", str(garbage), yes=True)
