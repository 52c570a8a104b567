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
from .settings import DATA_DIR, DATABASES  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real Celery worker subprocess can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": "WARNING"},
}
