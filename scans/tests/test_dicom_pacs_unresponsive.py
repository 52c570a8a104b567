"""A PACS that takes the connection but never answers (a hung server, a half-open firewall) must not hold the
page until gunicorn kills the worker: the interactive query gives up after PACS_INTERACTIVE_TIMEOUT_SECONDS
and the page says the PACS could not be queried."""

import socket
import time

import pytest
from django.urls import reverse

from octclinic.testing import free_port
from patients.factories import PatientFactory
from scans.pacs import PacsError, pacs_studies_find


@pytest.fixture
def silent_pacs(settings):
    port = free_port()
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(4)  # the kernel completes the TCP handshake; nobody ever reads or answers
    settings.PACS_HOST, settings.PACS_PORT, settings.PACS_INTERACTIVE_TIMEOUT_SECONDS = "127.0.0.1", port, 1
    settings.DICOM_TIMEOUT_SECONDS = 120  # background retrievals keep their long timeout; not used here
    yield port
    listener.close()


def test_the_query_gives_up_after_the_interactive_timeout(silent_pacs):
    started = time.monotonic()
    with pytest.raises(PacsError):
        pacs_studies_find(patient_id="MRN-1")
    assert time.monotonic() - started < 30  # bounded by the 1 s setting, far below the 120 s one


@pytest.mark.django_db
def test_the_page_reports_an_unreachable_pacs(silent_pacs, technician_client):
    patient = PatientFactory()
    response = technician_client.get(reverse("scans:pacs_studies", args=[patient.pk]))
    assert response.status_code == 200
    assert "The PACS could not be queried" in response.content.decode()
