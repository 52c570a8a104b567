"""`make run`'s launcher: web, worker, beat and the DICOM process come up on the embedded default, the demo logins
work, and one signal stops every process it started. Every listener it starts is on a free port (web: PORT, DICOM:
DICOM_PORT), so the test never depends on 8000 or 11112 being unused."""

import os
import re
import signal
import subprocess
import sys
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from octclinic.testing import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


def descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        children = Path(f"/proc/{parent}/task/{parent}/children")
        if children.exists():
            for child in map(int, children.read_text().split()):
                found.add(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return False


def dicom_echo(port: int) -> bool:
    """A C-ECHO from dcmtk's default echo AE title (allowed outside production) to the DICOM process."""
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    ae = AE(ae_title="ECHOSCU")
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.network_timeout = ae.connection_timeout = 5
    assoc = ae.associate("127.0.0.1", port, ae_title="OCTCLINIC")
    if not assoc.is_established:
        return False
    try:
        status = assoc.send_c_echo()
        return bool(status) and status.Status == 0x0000
    finally:
        assoc.release()


def test_make_run_serves_login_with_demo_logins_and_stops_everything(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"} and not k.startswith("DICOM_")
    }
    env.update(
        OCT_DATA_DIR=str(tmp_path),
        DEMO_PASSWORD="demo-password-2026",
        PORT=str(free_port()),
        DICOM_PORT=str(free_port()),
        DICOM_BIND_ADDRESS="127.0.0.1",
    )
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run("migrate", "--noinput").returncode == 0
    seeded = run("seed_demo")
    assert "tech" in seeded.stdout and "demo-password-2026" in seeded.stdout

    launcher = subprocess.Popen(
        [sys.executable, "-m", "octclinic.devserver"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:

        def login_page():
            try:
                with urllib.request.urlopen(f"{base}/accounts/login/", timeout=2) as response:
                    return response.status == 200 and response.read().decode()
            except OSError:
                return False

        page = wait_until(login_page, timeout=60)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{base}/accounts/login/", timeout=5).read()
        cookie_token = next(c.value for c in jar if c.name == "csrftoken")
        body = f"csrfmiddlewaretoken={cookie_token}&username=tech&password=demo-password-2026".encode()
        with opener.open(urllib.request.Request(f"{base}/accounts/login/", data=body), timeout=10) as response:
            # The technician lands on their dashboard: today's appointments per device.
            assert response.url == f"{base}/"
            assert 'data-dashboard="technician"' in response.read().decode()
        assert token
        # The DICOM process answers on the port it was given (not the default 11112).
        assert wait_until(lambda: dicom_echo(int(env["DICOM_PORT"])), timeout=60)
        children = wait_until(lambda: len(descendants(launcher.pid)) >= 3 and descendants(launcher.pid), timeout=30)
    finally:
        launcher.send_signal(signal.SIGINT)
        launcher.wait(timeout=30)
    assert launcher.returncode == 0
    wait_until(lambda: not any(alive(pid) for pid in children), timeout=20)
