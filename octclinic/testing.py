"""Helpers for tests that drive real processes: free ports for servers they start, waiting on
background workers, logging in and taking screenshots in a real browser."""

import socket
import time
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def wait_until(predicate, *, timeout: float = 60, interval: float = 0.2):
    """Poll until predicate() is truthy; fail with a clear message instead of hanging."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:.0f} s")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page_log_in(page, username: str) -> None:
    """Log a factory-made user (password TEST_PASSWORD) in through the real login page, and wait
    until the login page is left behind."""
    from .factories import TEST_PASSWORD

    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot as test-artifacts/<name>.png, so people can look at what a browser
    test saw."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def process_stop(process, *, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it hasn't gone within ``timeout``: how tests end the real processes they start."""
    import subprocess

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class WorkerProcess:
    """A real `celery worker` subprocess on the configured broker and the test database.

    Tests that need a worker use the `celery_worker_process` fixture; reliability tests that kill
    and restart workers drive this class directly.
    """

    def __init__(self, *, queue: str, data_dir, extra_env: dict[str, str] | None = None):
        import os
        import subprocess
        import sys
        from pathlib import Path

        from django.db import connection

        db = connection.settings_dict
        if db["ENGINE"].endswith("sqlite3"):
            database_url = f"sqlite:///{db['NAME']}"
        else:
            database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "octclinic.settings_test",
            "OCT_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            **(extra_env or {}),
        }
        root = Path(__file__).resolve().parent.parent
        self.log_path = Path(data_dir) / f"worker-{queue}-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "celery", "-A", "octclinic", "worker", "-P", "solo", "-Q", queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
            cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def output(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        """SIGKILL: what an OOM kill or a pulled plug does, no chance to hand work back."""
        self.process.kill()
        self.process.wait(timeout=20)

    def stop(self) -> str:
        process_stop(self.process)
        self._log.close()
        return self.output()
