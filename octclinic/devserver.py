"""`make run`: the web server, two Celery workers, Celery beat and the DICOM process side by side, stopped together.

The workers and beat are real processes on the configured broker (kombu's filesystem transport by
default, Redis when REDIS_URL is set), so background work behaves as in production. `worker` consumes the default
queue (AI readings, imports, PACS); `worker-training` consumes only the training queue (training, gating,
evaluation), so a training run never keeps a scan waiting for its AI reading. Ctrl-C (or
SIGTERM) stops everything this started. The DICOM process (receiver and modality worklist, docs/dicom.md) listens on
DICOM_PORT (11112) on loopback unless DICOM_BIND_ADDRESS says otherwise.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

PYTHON = sys.executable


def _commands(host: str, port: str) -> dict[str, list[str]]:
    concurrency = os.environ.get("WORKER_CONCURRENCY", "1")
    # The same names and defaults as settings.CELERY_TASK_DEFAULT_QUEUE / CELERY_TRAINING_QUEUE.
    default_queue = os.environ.get("CELERY_DEFAULT_QUEUE", "celery")
    training_queue = os.environ.get("CELERY_TRAINING_QUEUE", "training")
    return {
        "web": [PYTHON, "manage.py", "runserver", f"{host}:{port}"],
        "worker": [
            PYTHON, "-m", "celery", "-A", "octclinic", "worker", "-Q", default_queue,
            "--loglevel", "INFO", "--concurrency", concurrency, "--hostname", "worker@%h",
        ],
        # One training at a time (a database rule), so one process; never the readings' queue.
        "worker-training": [
            PYTHON, "-m", "celery", "-A", "octclinic", "worker", "-Q", training_queue,
            "--loglevel", "INFO", "--concurrency", "1", "--hostname", "training@%h",
        ],
        "beat": [
            PYTHON, "-m", "celery", "-A", "octclinic", "beat", "--loglevel", "INFO",
            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
        ],
        "dicom": [PYTHON, "manage.py", "dicom_server"],
    }  # fmt: skip


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, sig)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    processes: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for name, command in _commands(host, port).items():
        # Each child leads its own process group, so stopping it also stops what it forked
        # (runserver's autoreloader child, the worker's pool processes).
        processes[name] = subprocess.Popen(command, start_new_session=True)  # noqa: S603 - our own fixed argv
    print(f"\nOCT Clinic is running at http://{host}:{port}/  (Ctrl-C stops them all)\n", flush=True)
    exit_code = 0
    try:
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping the rest.", flush=True)
                    exit_code = process.returncode or 1
                    stopping = True
                    break
            time.sleep(0.5)
    finally:
        for process in processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
    print("All OCT Clinic processes stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
