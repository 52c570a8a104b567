"""A database outage answers 503 (retry later), never 500 (a bug).

While PostgreSQL restarts, any request that touches it fails with ``OperationalError`` / ``InterfaceError``
wherever that happens: in a view, or in a middleware (the session is read by authentication and written back on
every response). Django turns every such exception into the 500 handler's answer, so this works in two halves:

* a ``got_request_exception`` receiver (Django sends it for every uncaught exception, view or middleware) marks
  the request when the exception is a database connection error;
* ``DatabaseOutageMiddleware``, outermost, replaces the 500 answer of a marked request with a 503 and
  ``Retry-After``: the API's JSON error body (``{"error": {"code": "unavailable", ...}}``) under ``/api/``, a plain
  page elsewhere.

Other exceptions (integrity errors, programming errors) stay 500s. Proven by the soak test
(``octclinic/tests/test_soak.py``), which restarts PostgreSQL under load.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"
_MARK = "_octclinic_database_outage"
MESSAGE = "The service is briefly unavailable; retry in a few seconds."


def _is_database_outage(exc: BaseException | None) -> bool:
    # Walk the cause chain: DRF or a task wrapper may re-raise the connection error as something else.
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _mark_outage(sender, request=None, **kwargs) -> None:
    if request is not None and _is_database_outage(sys.exc_info()[1]):
        setattr(request, _MARK, True)


got_request_exception.connect(_mark_outage, dispatch_uid="octclinic.outage.mark")


def _unavailable(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": "unavailable", "message": MESSAGE}}, status=503)
    else:
        response = HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = RETRY_AFTER_SECONDS
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except (OperationalError, InterfaceError):  # raised past every inner handler (rare)
            logger.warning("database unavailable: answered 503")
            return _unavailable(request)
        if response.status_code == 500 and getattr(request, _MARK, False):
            logger.warning("database unavailable: answered 503")
            return _unavailable(request)
        return response


def api_exception_handler(exc, context):
    """DRF's exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``): a database outage inside an API view is a
    503 with the API's error body; everything else goes to ``octclinic.api_errors.api_exception_handler``.

    DRF answers a view's exceptions itself (the project's handler turns unexpected ones into a JSON 500), so they
    never reach Django's handler and the middleware above.
    """
    from rest_framework.response import Response

    from .api_errors import api_exception_handler as project_handler

    if _is_database_outage(exc):
        logger.warning("database unavailable: answered 503")
        return Response(
            {"error": {"code": "unavailable", "message": MESSAGE}},
            status=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS, "Cache-Control": "no-store"},
        )
    return project_handler(exc, context)
