"""The DICOM process: one pynetdicom Application Entity that receives images (C-STORE), answers the modality
worklist (C-FIND) and echoes (C-ECHO). ``manage.py dicom_server`` runs it; ``make run`` and docker-compose start
that command as their "dicom" process.

Handlers are thin: read the request, call ``dicom_receiver`` / ``dicom_worklist``, answer a status. pynetdicom
runs each association in its own thread, so each handler closes the thread's database connection when done
(a long-lived process must not collect one idle connection per device that ever connected).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, close_old_connections, connection
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

from .dicom_reading import SUPPORTED_SOP_CLASSES
from .dicom_receiver import CANNOT_UNDERSTAND, OUT_OF_RESOURCES, dicom_instance_receive
from .dicom_worklist import WorklistQueryError, worklist_query
from .pacs import pynetdicom_logs_quiet

logger = logging.getLogger(__name__)

PENDING = 0xFF00
CANCELLED = 0xFE00
UNABLE_TO_PROCESS = 0xC000


def handle_store(event) -> int:
    close_old_connections()
    try:
        data = event.encoded_dataset(include_meta=True)
        outcome = dicom_instance_receive(
            data=data,
            calling_ae_title=_calling_ae(event),
            context_sop_class_uid=str(event.context.abstract_syntax),
        )
    except Exception:  # noqa: BLE001 - the sender must get an answer, never a dropped association
        logger.exception("C-STORE failed unexpectedly")
        return CANNOT_UNDERSTAND
    finally:
        connection.close()
    logger.info("C-STORE answered 0x%04X (%s)", outcome.status, outcome.result)
    return outcome.status


def handle_find(event):
    close_old_connections()
    count = 0
    try:
        for item in worklist_query(event.identifier):
            if event.is_cancelled:
                yield CANCELLED, None
                return
            count += 1
            yield PENDING, item
    except WorklistQueryError as exc:
        logger.info("worklist query refused: %s", exc)
        yield UNABLE_TO_PROCESS, None
        return
    except DatabaseError:
        logger.exception("worklist query failed: database unavailable")
        yield OUT_OF_RESOURCES, None
        return
    except Exception:  # noqa: BLE001 - e.g. an identifier that can't be decoded
        logger.exception("worklist query failed unexpectedly")
        yield UNABLE_TO_PROCESS, None
        return
    finally:
        connection.close()
    logger.info("worklist query answered with %d items", count)
    yield 0x0000, None


def _calling_ae(event) -> str:
    return str(event.assoc.requestor.ae_title).strip()


def dicom_ae_build() -> AE:
    """The configured AE: our AE title, called-AE check, and only the allowed calling AE titles."""
    allowed = [title.strip() for title in settings.DICOM_ALLOWED_CALLING_AE_TITLES if title.strip()]
    if not allowed:
        raise ImproperlyConfigured(
            "DICOM_ALLOWED_CALLING_AE_TITLES is empty: list the AE titles of the devices and the PACS that may "
            "connect (docs/dicom.md)"
        )
    pynetdicom_logs_quiet()
    ae = AE(ae_title=settings.DICOM_AE_TITLE)
    ae.require_called_aet = True
    ae.require_calling_aet = allowed
    for timeout in ("acse_timeout", "dimse_timeout", "network_timeout"):
        setattr(ae, timeout, settings.DICOM_TIMEOUT_SECONDS)
    ae.maximum_pdu_size = 0  # no limit on what we accept; intake enforces SCANS_MAX_UPLOAD_BYTES
    for sop_class in SUPPORTED_SOP_CLASSES:
        ae.add_supported_context(sop_class, ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context(ModalityWorklistInformationFind)
    ae.add_supported_context(Verification)
    return ae


HANDLERS = [(evt.EVT_C_STORE, handle_store), (evt.EVT_C_FIND, handle_find)]


def dicom_server_start(*, host: str | None = None, port: int | None = None, block: bool = True):
    """Serve until stopped; with ``block=False`` returns the server (``.shutdown()`` stops it; tests use this)."""
    ae = dicom_ae_build()
    address = (host or settings.DICOM_BIND_ADDRESS, settings.DICOM_PORT if port is None else port)
    logger.info("DICOM server %s listening on %s:%s", settings.DICOM_AE_TITLE, *address)
    return ae.start_server(address, block=block, evt_handlers=HANDLERS)
