"""The DICOM process: one pynetdicom Application Entity that receives images (C-STORE), answers the modality
worklist (C-FIND) and echoes (C-ECHO). ``manage.py dicom_server`` runs it; ``make run`` and docker-compose start
that command as their "dicom" process.

Handlers are thin: read the request, call ``dicom_receiver`` / ``dicom_worklist``, answer a status. pynetdicom
runs each association in its own thread, so each handler closes the thread's database connection when done
(a long-lived process must not collect one idle connection per device that ever connected).

The port is reachable by anyone on the network, so connections are guarded before any association exists
(docs/dicom.md, "Connection limits"): pynetdicom alone counts a connection that never sends a byte against its
association limit, keeps it until its ARTIM timer (which can't fire while its reader is blocked inside a stalled
PDU), and reads whatever PDU length a stranger declares. ``GuardedAssociationServer`` caps open connections in all
and per source address, closes any connection that has not completed its association request within
``DICOM_ASSOCIATION_TIMEOUT_SECONDS``, and refuses an association request larger than any real one;
``GuardedAE`` counts only associations whose request arrived against ``DICOM_MAX_ASSOCIATIONS``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, close_old_connections, connection
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification
from pynetdicom.transport import AssociationServer, AssociationSocket, RequestHandler

from .dicom_reading import SUPPORTED_SOP_CLASSES
from .dicom_receiver import CANNOT_UNDERSTAND, OUT_OF_RESOURCES, dicom_instance_receive
from .dicom_worklist import WorklistQueryError, worklist_query
from .limits import limit
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


# --- Connection guards -------------------------------------------------------------------------------------------

# The largest A-ASSOCIATE-RQ PDU accepted. A real one is a few kB (128 presentation contexts with their transfer
# syntaxes stay under 40 kB; user identity adds at most 2 x 64 kB); a stranger may declare 4 GB.
ASSOCIATE_RQ_MAX_BYTES = 256 * 1024
REFUSAL_LOG_EVERY_SECONDS = 60  # one line per source address at most this often
REFUSAL_LOG_LINES_PER_MINUTE = 20  # and at most this many in all; the rest are counted in one summary line


class GuardedAE(AE):
    """pynetdicom counts every acceptor thread against ``maximum_associations``, including connections that have not
    sent an association request (or were already rejected and linger until the peer hangs up): ten silent sockets
    would lock every device out. Here only associations whose request arrived and that are still in play count."""

    @property
    def active_associations(self) -> list[Association]:
        return [
            assoc
            for assoc in super().active_associations
            if not assoc.is_acceptor
            or (
                assoc.requestor.primitive is not None
                and not (assoc.is_rejected or assoc.is_aborted or assoc.is_released)
            )
        ]


class GuardedAssociationSocket(AssociationSocket):
    """Before the association is established the only PDU worth reading is an association request (or a short
    abort / release): a declared length beyond ``ASSOCIATE_RQ_MAX_BYTES`` ends the connection instead of being read."""

    def recv(self, nr_bytes: int) -> bytearray:
        if nr_bytes > ASSOCIATE_RQ_MAX_BYTES and not self.assoc.is_established:
            server = getattr(self.assoc, "_server", None)
            if isinstance(server, GuardedAssociationServer) and self.socket is not None:
                server.connection_drop(self.socket, reason="association request too large")
            return bytearray()  # pynetdicom reads this as "connection closed before the whole PDU arrived"
        return super().recv(nr_bytes)


class GuardedRequestHandler(RequestHandler):
    def _create_association(self) -> Association:
        assoc = super()._create_association()
        # The accepted socket's wrapper gets the size check (same object and state: pynetdicom already queued the
        # connection's "transport connected" event on it, so a second wrapper must not be made).
        assoc.dul.socket.__class__ = GuardedAssociationSocket
        self.server.connection_attach(self.request, assoc)
        return assoc


@dataclass
class _Connection:
    address: str
    opened: float  # time.monotonic()
    sock: socket.socket
    association: Association | None = None
    established: bool = False
    dropped: bool = False


class GuardedAssociationServer(AssociationServer):
    """pynetdicom's server with per-connection guards (module docstring); the accept loop's ``service_actions`` (every
    half second at most) closes connections whose association request is overdue."""

    request_queue_size = 128  # a burst of connection attempts must not overflow the listen backlog

    def __init__(self, *args, **kwargs) -> None:
        self._guard_lock = threading.Lock()
        self._connections: dict[int, _Connection] = {}
        self._refusals_logged: dict[str, float] = {}
        self._log_window = [time.monotonic(), 0, 0]  # start, lines logged, refusals not logged
        super().__init__(*args, **kwargs)

    # Called by socketserver for each accepted connection before anything else; False closes it at once.
    def verify_request(self, request, client_address) -> bool:
        address = str(client_address[0])
        with self._guard_lock:
            self._connections_forget_closed()
            per_address = sum(1 for c in self._connections.values() if c.address == address and not c.dropped)
            if len(self._connections) >= limit("DICOM_MAX_CONNECTIONS"):
                reason = f"the server has {len(self._connections)} open connections (DICOM_MAX_CONNECTIONS)"
            elif per_address >= limit("DICOM_MAX_CONNECTIONS_PER_ADDRESS"):
                reason = f"{per_address} connections from this address are open (DICOM_MAX_CONNECTIONS_PER_ADDRESS)"
            else:
                self._connections[id(request)] = _Connection(address=address, opened=time.monotonic(), sock=request)
                reason = ""
        if reason:
            self._refusal_log(address, reason)
            return False
        # A blocking read never waits longer than the network timeout (accepted sockets inherit no timeout).
        request.settimeout(settings.DICOM_TIMEOUT_SECONDS)
        return True

    def connection_attach(self, sock: socket.socket, assoc: Association) -> None:
        with self._guard_lock:
            entry = self._connections.get(id(sock))
            if entry is not None and entry.sock is sock:
                entry.association = assoc

    def connection_drop(self, sock: socket.socket, *, reason: str) -> None:
        """Close a connection from any thread: shutdown wakes its reader, pynetdicom then ends the association and
        closes the socket itself (closing it here could hand its descriptor number to the next connection)."""
        with self._guard_lock:
            entry = self._connections.get(id(sock))
            if entry is not None and entry.sock is sock:
                entry.dropped = True
        with contextlib.suppress(OSError):  # already closed by the peer or by pynetdicom
            sock.shutdown(socket.SHUT_RDWR)
        if entry is not None:
            self._refusal_log(entry.address, reason)

    def service_actions(self) -> None:
        super().service_actions()
        self.connections_police()

    def connections_police(self) -> None:
        """Close every connection that has not completed its association request in time."""
        deadline = limit("DICOM_ASSOCIATION_TIMEOUT_SECONDS")
        now = time.monotonic()
        overdue = []
        with self._guard_lock:
            self._connections_forget_closed()
            for entry in self._connections.values():
                assoc = entry.association
                if assoc is not None and assoc.is_established:
                    entry.established = True  # from now on the association's own timeouts apply
                if not entry.established and not entry.dropped and now - entry.opened > deadline:
                    overdue.append(entry.sock)
        for sock in overdue:
            self.connection_drop(sock, reason=f"no association within {deadline} s (DICOM_ASSOCIATION_TIMEOUT_SECONDS)")

    def _connections_forget_closed(self) -> None:
        for key, entry in list(self._connections.items()):
            assoc = entry.association
            finished = assoc is not None and assoc.ident is not None and not assoc.is_alive()
            if finished and entry.sock.fileno() != -1:
                entry.sock.close()  # its association is over; nothing else reads it any more
            if entry.sock.fileno() == -1:
                del self._connections[key]

    def _refusal_log(self, address: str, reason: str) -> None:
        """A flood must not flood the logs: once a minute per address, REFUSAL_LOG_LINES_PER_MINUTE lines in all."""
        now = time.monotonic()
        window = self._log_window
        if now - window[0] >= 60:
            if window[2]:
                logger.warning(
                    "DICOM: %d more connections were closed in the last minute (not logged one by one)", window[2]
                )
            window[:] = [now, 0, 0]
        if len(self._refusals_logged) > 10_000:
            self._refusals_logged.clear()
        if (
            now - self._refusals_logged.get(address, -REFUSAL_LOG_EVERY_SECONDS) >= REFUSAL_LOG_EVERY_SECONDS
            and window[1] < REFUSAL_LOG_LINES_PER_MINUTE
        ):
            self._refusals_logged[address] = now
            window[1] += 1
            logger.warning("DICOM connection from %s closed: %s (logged once a minute per address)", address, reason)
        else:
            window[2] += 1

    def open_connections(self) -> int:
        with self._guard_lock:
            self._connections_forget_closed()
            return len(self._connections)

    def shutdown(self) -> None:
        super().shutdown()
        with self._guard_lock:
            socks = [entry.sock for entry in self._connections.values()]
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def dicom_ae_build() -> AE:
    """The configured AE: our AE title, called-AE check, and only the allowed calling AE titles."""
    allowed = [title.strip() for title in settings.DICOM_ALLOWED_CALLING_AE_TITLES if title.strip()]
    if not allowed:
        raise ImproperlyConfigured(
            "DICOM_ALLOWED_CALLING_AE_TITLES is empty: list the AE titles of the devices and the PACS that may "
            "connect (docs/dicom.md)"
        )
    pynetdicom_logs_quiet()
    ae = GuardedAE(ae_title=settings.DICOM_AE_TITLE)
    ae.require_called_aet = True
    ae.require_calling_aet = allowed
    # ARTIM: how long a connection may take to send its association request (and a peer to hang up after a
    # rejection or release); the association's messages and idleness get the longer network timeout.
    ae.acse_timeout = limit("DICOM_ASSOCIATION_TIMEOUT_SECONDS")
    for timeout in ("dimse_timeout", "network_timeout"):
        setattr(ae, timeout, settings.DICOM_TIMEOUT_SECONDS)
    ae.maximum_associations = limit("DICOM_MAX_ASSOCIATIONS")
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
    server = ae.make_server(
        address,
        evt_handlers=HANDLERS,
        server_class=GuardedAssociationServer,
        request_handler=GuardedRequestHandler,
    )
    ae._servers.append(server)  # as AE.start_server does: the server's shutdown() takes itself off this list
    logger.info("DICOM server %s listening on %s:%s", settings.DICOM_AE_TITLE, *address)
    if not block:
        threading.Thread(target=server.serve_forever, name="DicomServer", daemon=True).start()
        return server
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.shutdown()
    return None
