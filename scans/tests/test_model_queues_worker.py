"""Real workers (issue #17 parts 2 and 3): a training run never delays an AI reading (seen in a real browser), and a
candidate in shadow mode reads every new upload beside the deployed model.

The workers are real ``celery worker`` processes on the configured broker (Redis in CI) and the test database. The
queues are private to each test: the web side routes through ``octclinic.celery.task_route``, which reads the
queue names from settings when a task is sent, and the workers get the same names in their environment.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mlcore.models import ModelVersion, ShadowReading, TrainingRun
from octclinic.testing import WorkerProcess, wait_until
from scans.models import AiStatus, Prediction, Scan
from scans.tests.ai_helpers import bscan_png

pytestmark = [pytest.mark.worker, pytest.mark.slow]


@pytest.fixture
def private_queues(transactional_db, settings):
    """Private training and classification queues, for the sender (settings) and the workers (environment)."""
    tag = uuid.uuid4().hex[:10]
    settings.CELERY_TRAINING_QUEUE = f"test-training-{tag}"
    settings.CELERY_CLASSIFICATION_QUEUE = f"test-readings-{tag}"
    env = {"CELERY_TRAINING_QUEUE": settings.CELERY_TRAINING_QUEUE, "CELERY_DEFAULT_QUEUE": f"test-readings-{tag}"}
    workers: list[WorkerProcess] = []

    def start(queue: str) -> WorkerProcess:
        worker = WorkerProcess(queue=queue, data_dir=settings.DATA_DIR, extra_env=env)
        workers.append(worker)
        return worker

    yield settings.CELERY_TRAINING_QUEUE, settings.CELERY_CLASSIFICATION_QUEUE, start
    for worker in workers:
        print(worker.stop()[-3000:])  # shown by pytest when the test fails


def _upload(client, patient, *, seed: int) -> Scan:
    data = {
        "eye": "OD",
        "acquired_on": dt.date(2026, 1, 5).isoformat(),
        "files": [SimpleUploadedFile(f"b-scan-{seed}.png", bscan_png(seed=seed))],
    }
    response = client.post(reverse("scans:upload") + f"?patient={patient.pk}", data)
    assert response.status_code in (200, 302), response.content[:500]
    return Scan.objects.filter(patient=patient).order_by("-pk").first()


@pytest.mark.browser
def test_a_reading_shows_within_seconds_while_a_training_runs(
    private_queues, deployed_model, patient, technician, clinic_admin, page_factory, tmp_path
):
    """The user's path in Debian chromium: the clinic admin watches the training run on the models page, the
    technician uploads on the upload page and sees the AI reading appear on the scan page by itself."""
    from mlcore.phantom import phantom_folder_write
    from mlcore.services import training_run_cancel, training_run_request
    from octclinic.testing import page_log_in, screenshot

    training_queue, readings_queue, start = private_queues
    start(training_queue)
    start(readings_queue)
    phantoms = phantom_folder_write(tmp_path / "phantoms", per_class=10, patients_per_class=5)
    # Long enough to still be training when the scan arrives (it is cancelled once the reading is in).
    run = training_run_request(params={"data": str(phantoms), "epochs": 50, "input_size": 75, "batch_size": 8})
    # Running: the training worker is inside the task (snapshotting, building, training) until it is cancelled.
    run = wait_until(lambda: TrainingRun.objects.filter(pk=run.pk, status="running").first(), timeout=120)
    assert run.worker.startswith("celery@")  # picked up by the training worker, which says so

    admin_page = page_factory()
    page_log_in(admin_page, clinic_admin.username)
    admin_page.goto(reverse("mlcore:list"))  # the models page; its queue panel polls itself
    running = admin_page.locator('[data-queue-item="running"]')
    assert running.count() == 1
    assert f"Training run #{run.pk}" in running.inner_text() and run.worker in running.inner_text()

    page = page_factory()
    page_log_in(page, technician.username)
    page.goto(reverse("scans:upload") + f"?patient={patient.pk}")
    scan_file = tmp_path / "b-scan-3.png"
    scan_file.write_bytes(bscan_png(seed=3))
    page.check("input[name=eye][value=OD]")
    page.set_input_files("input[name=files]", [str(scan_file)])
    uploaded = time.monotonic()
    page.click("#upload-submit")
    page.wait_for_selector("#scan-upload-form[data-done='1']", timeout=30_000)
    page.click("#upload-results li[data-status=stored] a")
    # The scan page's AI panel polls while the scan is queued and shows the reading when it is stored.
    page.wait_for_selector('#ai-status[data-ai-status="classified"] [data-prediction]', timeout=45_000)
    waited = time.monotonic() - uploaded
    screenshot(page, "scans-reading-while-training")
    scan = Scan.objects.get(patient=patient)
    assert Prediction.objects.get(scan=scan).model_version == deployed_model
    assert TrainingRun.objects.get(pk=run.pk).status == "running"  # the training never stopped for it
    assert waited < 30, f"the reading took {waited:.1f}s to show while a training ran"

    # Cancelled (it stops at its next batch); the worker is stopped with the test either way.
    assert training_run_cancel(run=run, actor=None, via="command").cancel_requested


def test_a_shadow_candidate_reads_every_new_upload_and_the_models_page_shows_agreement(
    private_queues, deployed_model, patient, technician_client, clinic_admin_client, clinic_admin
):
    from mlcore.artifacts import model_card_load
    from mlcore.services import model_version_shadow_set
    from mlcore.tests.conftest import card_copy

    _, readings_queue, start = private_queues
    card = card_copy(model_card_load(version=deployed_model.version), version="tiny-shadow")
    candidate = ModelVersion.objects.create(
        version="tiny-shadow", status="candidate", artifact_path=card.artifact["path"], card=card.as_dict()
    )
    model_version_shadow_set(model_version=candidate, shadow=True, actor=clinic_admin)
    start(readings_queue)

    scans = [_upload(technician_client, patient, seed=seed) for seed in (11, 12, 13)]
    rows = wait_until(lambda: ShadowReading.objects.count() == 3 and list(ShadowReading.objects.all()), timeout=120)
    for scan in scans:
        scan.refresh_from_db()
        prediction = Prediction.objects.get(scan=scan)  # the deployed model's reading, and only that one is shown
        assert scan.ai_status == AiStatus.CLASSIFIED and prediction.model_version == deployed_model
    by_input = {row.input_sha256: row for row in rows}
    for scan in scans:
        prediction = Prediction.objects.get(scan=scan)
        row = by_input[prediction.input_sha256]
        assert (row.candidate, row.deployed_version, row.deployed_label) == (candidate, "tiny-test", prediction.label)
        assert row.agrees  # the same weights read the same
    assert not Prediction.objects.filter(model_version=candidate).exists()

    page = clinic_admin_client.get(reverse("mlcore:queue")).content.decode()
    assert "data-shadow-live" in page and "3 of 3" in page and "data-shadow-per-label" in page
    labels = {row.deployed_label for row in rows}
    assert all(f'data-label="{label}"' in page for label in labels)
