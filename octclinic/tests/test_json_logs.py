"""Structured logs: with LOG_FORMAT=json every record is one JSON object per line."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_json_log_lines(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env.update(DJANGO_SETTINGS_MODULE="octclinic.settings", LOG_FORMAT="json", OCT_DATA_DIR=str(tmp_path))
    code = "import django, logging; django.setup(); logging.getLogger('octclinic.test').warning('scan %s stored', 42)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    record = next(line for line in lines if line.get("logger") == "octclinic.test")
    assert record["message"] == "scan 42 stored"
    assert record["level"] == "WARNING" and "time" in record
