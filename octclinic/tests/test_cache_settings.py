"""With Redis the cache (the API's rate-limit counters) is shared, in the database after the broker's so
clearing it never touches the task queue; CACHE_URL overrides; without Redis each process keeps its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cache_for(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_URL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="octclinic.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django, json; django.setup(); from django.conf import settings; "
         "print(json.dumps(settings.CACHES['default']))"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_redis_cache_in_the_database_after_the_brokers():
    assert _cache_for(REDIS_URL="redis://redis:6379/0")["LOCATION"] == "redis://redis:6379/1"
    assert _cache_for(REDIS_URL="redis://:secret@redis:6379/3")["LOCATION"] == "redis://:secret@redis:6379/4"
    assert _cache_for(REDIS_URL="redis://redis:6379")["LOCATION"] == "redis://redis:6379/1"
    cache = _cache_for(REDIS_URL="redis://redis:6379/0", CACHE_URL="redis://cache:6379/0")
    assert cache["LOCATION"] == "redis://cache:6379/0"
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_without_redis_each_process_keeps_its_own():
    assert _cache_for()["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def _settings_error(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_URL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="octclinic.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    return result.stderr.strip().splitlines()[-1]


def test_a_cache_url_that_cannot_work_is_refused_at_startup_by_name():
    assert "set CACHE_URL" in _settings_error(REDIS_URL="redis://redis:6379/15")
    assert "set CACHE_URL" in _settings_error(REDIS_URL="unix:///run/redis.sock?db=0")
    assert "CACHE_URL must be a redis://" in _settings_error(
        REDIS_URL="redis://redis:6379/0", CACHE_URL="memcached://x"
    )
    assert "DB_PARALLEL_WORKERS_PER_QUERY must be 0 or more" in _settings_error(
        DATABASE_URL="postgres://clinic@db.example:5432/octclinic", DB_PARALLEL_WORKERS_PER_QUERY="-1"
    )
