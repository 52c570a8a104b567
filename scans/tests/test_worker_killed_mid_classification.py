"""A worker killed mid-classification: the task is redelivered and the scan is classified exactly once.

Needs Redis (its index of unacknowledged messages is what redelivers the task); CI always has it.
To kill the first worker *during* the reading, not before or after, it gets a view of the media store
in which the scan's file is a named pipe nobody writes to: the task starts, opens the file and blocks
there, inside the classification, until the worker is killed.
"""

import os
import time
import uuid
from pathlib import Path

import pytest

from octclinic.testing import WorkerProcess, wait_until
from scans.models import AiStatus, Prediction, Scan
from scans.tasks import classify_scan
from scans.tests.ai_helpers import uploaded_scan

pytestmark = pytest.mark.worker


def media_view_with_blocking_file(media_root: Path, target: Path, blocked: str) -> None:
    """Mirror media_root with symlinks, except `blocked`, which becomes a FIFO that never delivers."""
    for dirpath, _dirs, files in os.walk(media_root):
        relative = Path(dirpath).relative_to(media_root)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            if (relative / name).as_posix() != blocked:
                (target / relative / name).symlink_to(Path(dirpath) / name)
    os.mkfifo(target / blocked)


def test_killed_worker_redelivers_and_classifies_exactly_once(
    deployed_model, patient, transactional_db, settings, tmp_path
):
    if not settings.REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run this against Redis (REDIS_URL)")
        pytest.skip("needs Redis: set REDIS_URL (CI does)")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    scan = uploaded_scan(patient)
    stuck_media = tmp_path / "stuck-media"
    media_view_with_blocking_file(Path(settings.MEDIA_ROOT), stuck_media, scan.original.name)
    env = {"CELERY_VISIBILITY_TIMEOUT": "5"}

    first = WorkerProcess(queue=queue, data_dir=settings.DATA_DIR, extra_env={**env, "MEDIA_ROOT": str(stuck_media)})
    try:
        classify_scan.apply_async(args=[scan.pk], queue=queue)
        wait_until(lambda: "] received" in first.output(), timeout=120, interval=0.05)
        time.sleep(1.0)  # well inside the task now, blocked reading the scan
        assert "succeeded in" not in first.output() and "] raised" not in first.output()
        first.kill()
    finally:
        first.stop()
    assert not Prediction.objects.filter(scan=scan).exists()

    second = WorkerProcess(queue=queue, data_dir=settings.DATA_DIR, extra_env=env)
    try:
        wait_until(lambda: Scan.objects.get(pk=scan.pk).ai_status == AiStatus.CLASSIFIED, timeout=240)
    finally:
        log = second.stop()
    assert "] received" in log
    assert Prediction.objects.filter(scan=scan).count() == 1
