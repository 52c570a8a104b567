"""Labelled datasets in all three layouts, from folders and ZIPs, with provenance and archive limits."""

from __future__ import annotations

import io
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from patients.models import Patient
from scans.models import DatasetImport, LabelledImage, Scan
from scans.services import dataset_import

from .builders import png_bytes, raster_bytes, secondary_capture_bytes
from .conftest import stored_files


@pytest.fixture
def kermany_sample(kermany_jpegs):
    by_class: dict[str, list[Path]] = {}
    for path in kermany_jpegs:
        by_class.setdefault(path.parent.name, []).append(path)
    return {label: paths[:2] for label, paths in by_class.items()}


def _split_folder(root: Path, sample) -> Path:
    dataset = root / "OCT2017"
    for split_index, split in enumerate(("train", "test")):
        for label, paths in sample.items():
            target = dataset / split / label
            target.mkdir(parents=True)
            shutil.copy(paths[split_index], target / paths[split_index].name)
    return dataset


def _zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return target


@pytest.mark.django_db
def test_kermany_split_layout_from_folder_keeps_provenance(tmp_path, kermany_sample, capsys):
    folder = _split_folder(tmp_path, kermany_sample)
    call_command("import_dataset", str(folder), "--progress-every", "2")
    out = capsys.readouterr().out
    assert "[100%]" in out and "imported" in out
    job = DatasetImport.objects.get()
    assert job.status == "done" and job.layout == "split/class folders"
    assert job.imported == 2 * len(kermany_sample) == LabelledImage.objects.count()
    image = LabelledImage.objects.get(original_name__contains=kermany_sample["CNV"][0].name)
    assert image.label == "CNV" and image.split == "train"
    assert image.source_patient_id == kermany_sample["CNV"][0].name.split("-")[1]
    assert image.source == str(folder) and image.original_name == f"train/CNV/{kermany_sample['CNV'][0].name}"
    assert image.file.open("rb").read() == kermany_sample["CNV"][0].read_bytes()
    assert Patient.objects.count() == 0 and Scan.objects.count() == 0  # never patients


@pytest.mark.django_db
def test_kermany_split_layout_from_zip_and_reimport_is_deduplicated(tmp_path, kermany_sample):
    archive = _zip_folder(_split_folder(tmp_path, kermany_sample), tmp_path / "oct.zip")
    first = dataset_import(path=archive)
    assert first.status == "done" and first.imported == 2 * len(kermany_sample)
    second = dataset_import(path=archive)
    assert second.imported == 0 and second.duplicates == first.imported
    assert "already imported" in second.errors[0]["reason"]


@pytest.mark.django_db
def test_class_folder_layout(tmp_path):
    for label, seed in (("NORMAL", 1), ("CNV", 2)):
        (tmp_path / "ds" / label).mkdir(parents=True)
        (tmp_path / "ds" / label / f"{label}-123-{seed}.png").write_bytes(png_bytes(seed))
    job = dataset_import(path=tmp_path / "ds")
    assert job.layout == "class folders" and job.imported == 2
    assert set(LabelledImage.objects.values_list("label", "split", "source_patient_id")) == {
        ("NORMAL", "", "123"),
        ("CNV", "", "123"),
    }


@pytest.mark.django_db
def test_labels_csv_layout_in_zip_with_problems_reported(tmp_path, media_root):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "data/labels.csv", "image,label,split\nimg/a.png,DRUSEN,val\nimg/b.jpg,DME,\nmissing.png,CNV,\n"
        )
        archive.writestr("data/img/a.png", png_bytes(7))
        archive.writestr("data/img/b.jpg", raster_bytes("JPEG", seed=8))
        archive.writestr("data/img/unlisted.png", png_bytes(9))
        archive.writestr("data/img/broken.png", b"\x89PNG\r\n\x1a\n broken")
    path = tmp_path / "csv.zip"
    path.write_bytes(buffer.getvalue())
    job = dataset_import(path=path)
    assert job.status == "done" and job.layout == "labels.csv"
    assert sorted(LabelledImage.objects.values_list("label", "split")) == [("DME", ""), ("DRUSEN", "val")]
    reasons = {e["file"]: e["reason"] for e in job.errors}
    assert "not found" in reasons["missing.png"]
    assert reasons["data/img/unlisted.png"] == "is not listed in labels.csv"
    assert reasons["data/img/broken.png"] == "is not listed in labels.csv"
    assert len(stored_files(media_root)) == 2


@pytest.mark.django_db
def test_dicom_in_a_dataset_is_stored_deidentified(tmp_path):
    (tmp_path / "ds" / "NORMAL").mkdir(parents=True)
    (tmp_path / "ds" / "NORMAL" / "x.dcm").write_bytes(secondary_capture_bytes())
    dataset_import(path=tmp_path / "ds")
    import pydicom

    stored = pydicom.dcmread(LabelledImage.objects.get().file.open("rb"))
    assert stored.PatientIdentityRemoved == "YES" and str(stored.PatientName) == ""


def _zip_with(entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info_or_name, data in entries:
            archive.writestr(info_or_name, data)
    return buffer.getvalue()


def _symlink_entry():
    info = zipfile.ZipInfo("CNV/link.jpeg")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, "/etc/passwd"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "entries,overrides,reason",
    [
        ([("../evil/CNV/a.png", png_bytes(1))], {}, "unsafe path"),
        ([("/abs/CNV/a.png", png_bytes(1))], {}, "unsafe path"),
        ([_symlink_entry()], {}, "symbolic link"),
        ([(f"CNV/{i}.png", png_bytes(i)) for i in range(4)], {"SCANS_ZIP_MAX_FILES": 3}, "more than the limit of 3"),
        ([("CNV/a.png", png_bytes(1, size=(256, 256)))], {"SCANS_ZIP_MAX_TOTAL_BYTES": 1000}, "unpacks to"),
    ],
    ids=["traversal", "absolute", "symlink", "file count", "total size"],
)
def test_hostile_archives_are_refused_whole(tmp_path, media_root, settings, entries, overrides, reason):
    for name, value in overrides.items():
        setattr(settings, name, value)
    path = tmp_path / "hostile.zip"
    path.write_bytes(_zip_with(entries))
    job = dataset_import(path=path)
    assert job.status == "failed"
    assert job.message.startswith("hostile.zip: ") and reason in job.message
    assert LabelledImage.objects.count() == 0 and stored_files(media_root) == []


@pytest.mark.django_db
def test_nested_archive_and_zip_bomb_members_are_refused_individually(tmp_path, media_root):
    path = tmp_path / "mixed.zip"
    path.write_bytes(
        _zip_with(
            [
                ("CNV/good.png", png_bytes(3)),
                ("CNV/inner.zip", _zip_with([("x.png", png_bytes(4))])),
                ("CNV/bomb.png", b"\x00" * 5_000_000),
            ]
        )
    )
    job = dataset_import(path=path)
    reasons = {e["file"]: e["reason"] for e in job.errors}
    assert job.imported == 1
    assert "nested ZIP archive" in reasons["CNV/inner.zip"]
    assert "possible zip bomb" in reasons["CNV/bomb.png"]


@pytest.mark.django_db
def test_symlinks_in_folders_are_not_followed(tmp_path):
    (tmp_path / "ds" / "CNV").mkdir(parents=True)
    (tmp_path / "ds" / "CNV" / "a.png").write_bytes(png_bytes(5))
    (tmp_path / "secret.png").write_bytes(png_bytes(6))
    (tmp_path / "ds" / "CNV" / "link.png").symlink_to(tmp_path / "secret.png")
    job = dataset_import(path=tmp_path / "ds")
    assert job.imported == 1
    assert job.errors == [{"file": "CNV/link.png", "reason": "is a symbolic link; links are not followed"}]


@pytest.mark.django_db
def test_command_fails_clearly_for_a_missing_path(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_dataset", str(tmp_path / "nope"))


@pytest.mark.django_db
def test_admin_page_starts_an_import_and_shows_progress(clinic_admin_client, tmp_path, settings, monkeypatch):
    from django.urls import reverse

    from scans import tasks

    queued = []
    monkeypatch.setattr(tasks.dataset_import_task, "delay", lambda job_id: queued.append(job_id))
    archive = _zip_with([("NORMAL/a.png", png_bytes(1)), ("CNV/b.png", png_bytes(2))])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = clinic_admin_client.post(
        reverse("admin:scans_datasetimport_start"),
        {"name": "Kermany sample", "archive": SimpleUploadedFile("sample.zip", archive)},
    )
    job = DatasetImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:scans_datasetimport_progress", args=[job.pk])
    # on_commit callbacks do not run inside the test transaction; run the worker's side directly.
    from scans.services import dataset_import_run

    dataset_import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.imported == 2 and not job.archive
    page = clinic_admin_client.get(reverse("admin:scans_datasetimport_progress", args=[job.pk]))
    assert b"2 imported" in page.content
    partial = clinic_admin_client.get(
        reverse("admin:scans_datasetimport_progress", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert b"<html" not in partial.content and b"2 of 2 processed" in partial.content


@pytest.mark.django_db
def test_admin_folder_import_is_limited_to_configured_roots(clinic_admin_client, tmp_path, settings):
    from django.urls import reverse

    settings.SCANS_DATASET_IMPORT_ROOTS = [str(tmp_path / "allowed")]
    response = clinic_admin_client.post(reverse("admin:scans_datasetimport_start"), {"folder": "/etc"})
    assert response.status_code == 200
    assert b"not inside a folder allowed for dataset import" in response.content
    assert DatasetImport.objects.count() == 0


@pytest.mark.django_db
def test_technician_cannot_open_the_import_page(technician_client):
    from django.urls import reverse

    response = technician_client.get(reverse("admin:scans_datasetimport_start"))
    assert response.status_code in (302, 403)
