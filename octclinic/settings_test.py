"""Fast, isolated settings for the test suite.

The data directory (SQLite file, media, filesystem broker spool) lives in a fresh temporary folder so
tests never touch a developer's demo data. With ``DATABASE_URL`` / ``REDIS_URL`` set (CI does), the
same suite runs on PostgreSQL and sends tasks through Redis.
"""

import os
import tempfile

os.environ["DJANGO_ENV"] = "test"
os.environ.setdefault("OCT_DATA_DIR", tempfile.mkdtemp(prefix="octclinic-test-"))

from .settings import *  # noqa: E402,F403
from .settings import CACHES, DATA_DIR, DATABASES  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real Celery worker subprocess can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
if "redis" in CACHES["default"]["BACKEND"]:
    # One prefix per test run, shared with the processes it starts: runs never see each other's counters.
    os.environ.setdefault("OCT_TEST_CACHE_PREFIX", f"octclinic-test-{os.getpid()}")
    CACHES["default"]["KEY_PREFIX"] = os.environ["OCT_TEST_CACHE_PREFIX"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": "WARNING"},
}
