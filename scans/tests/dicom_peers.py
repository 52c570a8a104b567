"""Real DICOM peers for the networking tests: our own server in a thread, Debian's Orthanc as the PACS, and
dcmtk's ``storescu`` / ``findscu`` as OCT devices. Everything runs on loopback, on free ports, in temporary
folders, and is stopped after the test.

Test modules import the fixtures (``dicom_server_fixture``, ``orthanc_fixture``); they register under the names
``dicom_server`` and ``orthanc``.

Missing binaries skip the test with the reason on a developer's machine; in CI (``CI`` set) they fail it, as
the browser tests do for chromium: CI installs ``orthanc`` and ``dcmtk`` (.ci/run), so a skip there would hide
a broken setup.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pydicom
import pytest

from octclinic.testing import free_port, process_stop

ORTHANC = "/usr/sbin/Orthanc"
OUR_AE = "OCTCLINIC"
DEVICE_AE = "OCT-DEVICE-1"
PACS_AE = "ORTHANC"


def binary_require(name: str) -> str:
    path = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
    if not path:
        package = "orthanc" if "Orthanc" in name else "dcmtk"
        message = f"{name} is not installed (apt-get install {package})"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Debian's {package}: {message}")
        pytest.skip(message)
    return path


def storescu(*, port: int, files: list[Path], calling_ae: str = DEVICE_AE, called_ae: str = OUR_AE):
    """Send files like a device does; returns the finished process (returncode 0 = every C-STORE succeeded)."""
    command = [binary_require("storescu"), "-aet", calling_ae, "-aec", called_ae, "127.0.0.1", str(port)]
    return subprocess.run(command + [str(f) for f in files], capture_output=True, text=True, timeout=120)  # noqa: S603


def findscu_worklist(
    *, port: int, keys: list[str], out_dir: Path, calling_ae: str = DEVICE_AE, called_ae: str = OUR_AE
) -> list[pydicom.Dataset]:
    """A Modality Worklist query (``findscu -W``); returns the answers findscu wrote out."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [binary_require("findscu"), "-W", "-X", "-od", str(out_dir), "-aet", calling_ae, "-aec", called_ae]
    for key in keys:
        command += ["-k", key]
    result = subprocess.run(command + ["127.0.0.1", str(port)], capture_output=True, text=True, timeout=60)  # noqa: S603
    assert result.returncode == 0, result.stderr[-2000:]
    return [pydicom.dcmread(p) for p in sorted(out_dir.glob("rsp*.dcm"))]


def dicom_file(folder: Path, data: bytes, name: str = "instance.dcm") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def dataset_bytes(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


class OrthancProcess:
    """Debian's Orthanc with a generated configuration: our receiver as its one known modality, no remote access,
    no authentication (loopback only), storage and index in a temporary folder."""

    def __init__(self, *, folder: Path, our_port: int):
        self.binary = binary_require(ORTHANC)
        self.dicom_port, self.http_port = free_port(), free_port()
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "test-pacs",
            "DicomAet": PACS_AE,
            "DicomPort": self.dicom_port,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "index"),
            "DicomModalities": {"octclinic": [OUR_AE, "127.0.0.1", our_port]},
            "DicomCheckCalledAet": False,
            "Plugins": [],
        }
        self.config_path = folder / "orthanc.json"
        self.config_path.write_text(json.dumps(config))
        self.log_path = folder / "orthanc.log"
        self._log = open(self.log_path, "w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [self.binary, str(self.config_path)], stdout=self._log, stderr=subprocess.STDOUT, cwd=folder
        )
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"Orthanc exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/system", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise AssertionError(f"Orthanc did not start within {timeout:.0f} s:\n{self.log_path.read_text()[-3000:]}")

    def store(self, data: bytes) -> dict:
        """Put an instance into the PACS through its REST API."""
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.url}/instances", data=data, method="POST", headers={"Content-Type": "application/dicom"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def stop(self) -> None:
        process_stop(self.process)
        self._log.close()


@pytest.fixture(name="dicom_server")
def dicom_server_fixture(transactional_db, settings):
    """Our DICOM process (receiver + worklist) in a thread of the test process, on a free loopback port.

    ``transactional_db``: pynetdicom handles each association in its own thread with its own database
    connection, so the test's data must be committed for the server to see it (and the test to see its rows).
    """
    from scans.dicom_server import dicom_server_start

    settings.DICOM_AE_TITLE = OUR_AE
    settings.DICOM_ALLOWED_CALLING_AE_TITLES = [DEVICE_AE, "OCT-DEVICE-2", PACS_AE]
    settings.DICOM_TIMEOUT_SECONDS = 20
    port = free_port()
    server = dicom_server_start(host="127.0.0.1", port=port, block=False)
    try:
        yield port
    finally:
        server.shutdown()


@pytest.fixture(name="orthanc")
def orthanc_fixture(tmp_path, dicom_server, settings):
    """Orthanc as the clinic's PACS, configured in settings (PACS_*) and stopped after the test."""
    pacs = OrthancProcess(folder=tmp_path / "orthanc", our_port=dicom_server)
    settings.PACS_AE_TITLE = PACS_AE
    settings.PACS_HOST = "127.0.0.1"
    settings.PACS_PORT = pacs.dicom_port
    try:
        yield pacs
    finally:
        pacs.stop()
