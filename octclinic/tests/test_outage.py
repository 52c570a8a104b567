"""A database outage answers 503 (retry later), not 500: in a view or in a middleware, API or page
(``octclinic/outage.py``); other errors stay 500. The soak test proves it with a real PostgreSQL restart."""

import json

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import IntegrityError, InterfaceError, OperationalError
from django.test import RequestFactory

from octclinic.outage import DatabaseOutageMiddleware


def _stack(exc: Exception):
    """What Django builds: the failing layer wrapped in exception-to-response, our middleware outside it."""

    def failing(request):
        raise exc

    return DatabaseOutageMiddleware(convert_exception_to_response(failing))


@pytest.mark.parametrize("exc", [OperationalError("server closed the connection"), InterfaceError("closed")])
def test_database_errors_answer_503_with_the_api_error_body(exc, settings):
    settings.DEBUG = False
    response = _stack(exc)(RequestFactory().get("/api/v1/scans/"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content)["error"]["code"] == "unavailable"


def test_pages_get_a_plain_503():
    response = _stack(OperationalError("connection refused"))(RequestFactory().get("/patients/"))
    assert response.status_code == 503 and b"unavailable" in response.content


def test_other_errors_stay_500():
    response = _stack(IntegrityError("duplicate key"))(RequestFactory().get("/api/v1/scans/"))
    assert response.status_code == 500


def test_api_views_answer_503_through_drfs_exception_handler():
    from octclinic.outage import api_exception_handler

    response = api_exception_handler(OperationalError("server closed the connection"), {"view": None})
    assert response.status_code == 503 and response.data["error"]["code"] == "unavailable"
    assert response["Retry-After"] == "5"
    assert api_exception_handler(IntegrityError("duplicate key"), {"view": None}).status_code == 500
