"""Scans test fixtures: an isolated media folder per test, real data from ../shared, sample files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings

from patients.factories import PatientFactory

SHARED = Path(settings.BASE_DIR).parent / "shared"
SHARED_OCT = SHARED / "oct"
SHARED_DICOM = SHARED / "dicom"
SPECTRALIS = SHARED_DICOM / "hcha3232__dicom-oct__00000029_OP_Spectralis_IR.dcm"
NONSTANDARD_NO_TS = SHARED_DICOM / "hcha3232__dicom-oct__slice_003_nonstandard_OCT.dcm"
NONSTANDARD_FIXED = SHARED_DICOM / "hcha3232__dicom-oct__fixed_slice_003_nonstandard_OCT.dcm"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the real sample data lives in ../shared beside the repository")
    return path


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test gets its own empty storage so 'no file was left' can be asserted exactly."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    settings.MEDIA_ROOT = str(root)
    return root


def stored_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def patient(db):
    return PatientFactory(
        mrn="MRN-4711", first_name="Erika", last_name="Mustermann", date_of_birth=dt.date(1960, 3, 14), sex="F"
    )


@pytest.fixture
def kermany_jpegs():
    root = _require(SHARED_OCT / "kermany")
    paths = sorted(root.glob("*/*.jpeg"))
    if len(paths) < 8:
        pytest.skip("../shared/oct/kermany has too few images")
    return paths


@pytest.fixture
def spectralis_path():
    return _require(SPECTRALIS)


@pytest.fixture
def nonstandard_no_ts_path():
    return _require(NONSTANDARD_NO_TS)


@pytest.fixture
def nonstandard_fixed_path():
    return _require(NONSTANDARD_FIXED)
