"""Production mode refuses to start without its secrets, instead of falling back to dev defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def import_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="octclinic.settings")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secrets_refuses_to_start():
    result = import_settings(DJANGO_ENV="production")
    assert result.returncode != 0
    assert "Production mode needs these environment variables: SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL" in result.stderr


def test_production_names_only_what_is_missing():
    result = import_settings(DJANGO_ENV="production", SECRET_KEY="s" * 50, ALLOWED_HOSTS="clinic.example")
    assert result.returncode != 0
    assert "variables: DATABASE_URL" in result.stderr


def test_production_with_secrets_starts_with_debug_off(tmp_path):
    result = import_settings(
        DJANGO_ENV="production",
        SECRET_KEY="s" * 50,
        ALLOWED_HOSTS="clinic.example",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    value = "from-a-file-" + "x" * 40
    secret.write_text(value + "\n")
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="octclinic.settings", SECRET_KEY_FILE=str(secret))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == value, result.stderr


@pytest.mark.parametrize("value", ["staging", ""])
def test_unknown_environment_is_refused(value):
    result = import_settings(DJANGO_ENV=value or "nonsense")
    assert result.returncode != 0 and "DJANGO_ENV must be" in result.stderr
