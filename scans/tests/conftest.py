"""Scans test fixtures: an isolated media folder per test, real data from ../shared, sample files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings

from patients.factories import CareTeamFactory, PatientFactory

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


@pytest.fixture(scope="session")
def _model_media(tmp_path_factory):
    return tmp_path_factory.mktemp("model-media")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path, request, monkeypatch):
    """Every test gets its own empty storage so 'no file was left' can be asserted exactly.

    Tests that use ``deployed_model`` or ``model_storage`` share one storage instead: the tiny model's artifact is built
    once (~20 s) and reused while it is still there. MEDIA_ROOT is exported for worker subprocesses.
    """
    if {"deployed_model", "model_storage"} & set(request.fixturenames):
        root = request.getfixturevalue("_model_media")
    else:
        root = tmp_path / "media"
        root.mkdir()
    monkeypatch.setenv("MEDIA_ROOT", str(root))
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
def patient(db, doctor):
    """Erika Mustermann, in the care team of the ``doctor`` persona (doctors see only their teams' patients)."""
    return PatientFactory(
        mrn="MRN-4711",
        first_name="Erika",
        last_name="Mustermann",
        date_of_birth=dt.date(1960, 3, 14),
        sex="F",
        care_team=CareTeamFactory(members=[doctor]),
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


@pytest.fixture
def model_storage(media_root):
    """The storage shared by tests that deploy the tiny model themselves (see ``media_root``)."""
    return media_root


@pytest.fixture
def deployed_model(db, media_root):
    """A deployed tiny (untrained) model version; its artifact lives in the shared model storage."""
    from mlcore.testing import tiny_model_version_deploy

    return tiny_model_version_deploy()
