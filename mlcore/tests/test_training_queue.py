"""Training never shares a worker with the readings (issue #17 part 2): where each task goes, and which process
consumes which queue in `make run` and docker-compose. The real-worker test is scans/tests/test_model_queues_worker.py.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

from octclinic.celery import app
from octclinic.devserver import _commands

ROOT = Path(__file__).resolve().parents[2]


def _queue(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_training_and_version_jobs_go_to_the_training_queue_readings_do_not():
    assert settings.CELERY_TRAINING_QUEUE != settings.CELERY_TASK_DEFAULT_QUEUE
    assert _queue("mlcore.tasks.training_run_task") == settings.CELERY_TRAINING_QUEUE
    assert _queue("mlcore.tasks.model_job_task") == settings.CELERY_TRAINING_QUEUE
    for name in ("scans.tasks.classify_scan", "scans.tasks.shadow_read_scan", "scans.tasks.classify_pending"):
        assert _queue(name) == settings.CELERY_TASK_DEFAULT_QUEUE


def _queues_of(argv: list[str]) -> str:
    return argv[argv.index("-Q") + 1]


def test_make_run_starts_a_training_worker_beside_the_readings_worker():
    commands = _commands("127.0.0.1", "8000")
    assert _queues_of(commands["worker"]) == "celery"  # the readings' worker never takes a training
    assert _queues_of(commands["worker-training"]) == "training"
    assert commands["worker-training"][commands["worker-training"].index("--concurrency") + 1] == "1"


def test_docker_compose_has_a_training_worker_service():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert _queues_of(services["worker"]["command"]) == "celery"
    assert _queues_of(services["worker-training"]["command"]) == "training"
