"""Liveness and readiness probes for load balancers and docker-compose healthchecks.

Answers are JSON and deliberately terse: a probe endpoint is unauthenticated, so it names which
dependency failed but never how (no hostnames, no exception text).
"""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("readiness: broker unreachable", exc_info=True)
        return False


def readiness_checks() -> dict[str, str]:
    """Each dependency as "ok" or "error" (shared by /readyz and the API's health endpoint)."""
    return {"database": "ok" if _database_ok() else "error", "broker": "ok" if _broker_ok() else "error"}


@never_cache
@require_GET
def readyz(request):
    checks = readiness_checks()
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "error", "checks": checks}, status=200 if ready else 503)
