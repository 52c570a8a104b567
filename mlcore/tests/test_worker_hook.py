"""Celery's worker_process_init loads and warms the deployed model in each child, after the fork."""

import sys

from celery.signals import worker_process_init

from mlcore import runtime
from mlcore.tests.conftest import registry_row


def test_worker_process_init_loads_the_deployed_model(db, tiny_card):
    registry_row(tiny_card, status="deployed")
    assert runtime.model_cached() is None
    worker_process_init.send(sender=None)
    loaded = runtime.model_cached()
    assert loaded is not None and loaded.version == "tiny-a" and loaded.runtime == "litert"


def test_worker_start_without_a_deployed_model_does_not_crash(db):
    worker_process_init.send(sender=None)
    assert runtime.model_cached() is None


def test_importing_the_runtime_does_not_import_tensorflow():
    """The Celery parent imports task modules before forking; TensorFlow must not start there."""
    import subprocess

    code = (
        "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'octclinic.settings_test');"
        "django.setup(); import mlcore.runtime, mlcore.gradcam, mlcore.services;"
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
