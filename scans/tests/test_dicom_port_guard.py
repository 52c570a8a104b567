"""The DICOM port can't be blocked by whoever reaches it (issue #18, part 1).

Hostile peers are raw sockets from other loopback addresses (all of 127/8 is loopback on Linux): some connect and
send nothing, some send the start of an A-ASSOCIATE-RQ (type 0x01) declaring a length and then stall. Beside them
real dcmtk tools (``echoscu``, ``storescu``) from 127.0.0.1 with an allowed AE title must keep being served, and the
hostile connections must be closed by the server within the configured association timeout; one address can hold
no more than its share of connections. Timeouts are short here and set per test.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time

import pytest

from octclinic.testing import free_port, wait_until
from scans.models import Scan
from scans.tests.dicom_peers import DEVICE_AE, OUR_AE, binary_require, dicom_file, storescu

ASSOCIATION_TIMEOUT = 3
PER_ADDRESS = 4


@pytest.fixture
def guarded_server(transactional_db, settings):
    """Start our DICOM process on a free port with short guards (set before the AE is built, which reads them);
    returns (port, server). Stopped after the test."""
    from scans.dicom_server import dicom_server_start

    servers = []

    def start(*, association_timeout: float = ASSOCIATION_TIMEOUT, max_connections: int = 100):
        settings.DICOM_AE_TITLE = OUR_AE
        settings.DICOM_ALLOWED_CALLING_AE_TITLES = [DEVICE_AE]
        settings.DICOM_TIMEOUT_SECONDS = 20
        settings.DICOM_ASSOCIATION_TIMEOUT_SECONDS = association_timeout
        settings.DICOM_MAX_ASSOCIATIONS = 10
        settings.DICOM_MAX_CONNECTIONS = max_connections
        settings.DICOM_MAX_CONNECTIONS_PER_ADDRESS = PER_ADDRESS
        port = free_port()
        servers.append(dicom_server_start(host="127.0.0.1", port=port, block=False))
        return port, servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()


def hostile(port: int, *, source: str, send: bytes = b"") -> socket.socket:
    """A connection from ``source`` that sends ``send`` (maybe nothing) and then nothing more."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    if send:
        sock.sendall(send)
    return sock


def associate_rq_start(declared_length: int) -> bytes:
    """The 6-byte PDU header of an A-ASSOCIATE-RQ declaring ``declared_length`` bytes, plus a few of them."""
    return bytes([0x01, 0x00]) + declared_length.to_bytes(4, "big") + b"\x00\x01\x00\x00"


def closed_by_server(sock: socket.socket, *, within: float) -> bool:
    """True when the server ends the connection (EOF or reset) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def closed_now(sock: socket.socket) -> bool:
    """Without waiting: has the server ended this connection?"""
    sock.settimeout(0)
    try:
        return not sock.recv(65536)
    except (BlockingIOError, InterruptedError):
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def echoscu(port: int) -> subprocess.CompletedProcess:
    command = [binary_require("echoscu"), "-to", "10", "-aet", DEVICE_AE, "-aec", OUR_AE, "127.0.0.1", str(port)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)  # noqa: S603 - fixed argv


def close_all(socks) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.close()


def test_allowed_device_is_served_while_fifty_hostile_connections_are_open(guarded_server, patient, tmp_path, caplog):
    from scans.dicom_server import REFUSAL_LOG_LINES_PER_MINUTE

    port, _server = guarded_server()
    binary_require("echoscu")
    # 50 hostile connections from 50 addresses (the per-address cap alone can't help): 20 silent, 20 stalled
    # inside a plausible association request, 10 declaring a 16 MB one.
    socks = []
    try:
        for index in range(50):
            source = f"127.0.0.{10 + index}"
            if index < 20:
                socks.append(("silent", hostile(port, source=source)))
            elif index < 40:
                socks.append(("stalled", hostile(port, source=source, send=associate_rq_start(2048))))
            else:
                socks.append(("huge", hostile(port, source=source, send=associate_rq_start(0xFFFFFF))))
        started = time.monotonic()

        echo = echoscu(port)
        assert echo.returncode == 0, echo.stdout + echo.stderr  # not "Local Limit Exceeded"
        # Served while the silent and stalled ones were still open (they get ASSOCIATION_TIMEOUT seconds).
        assert time.monotonic() - started < ASSOCIATION_TIMEOUT
        assert not any(closed_now(sock) for kind, sock in socks if kind != "huge")
        stored = storescu(port=port, files=[dicom_file(tmp_path, _opt_volume(tmp_path))])
        assert stored.returncode == 0, stored.stdout + stored.stderr
        assert Scan.objects.filter(patient=patient).count() == 1

        # A declared 16 MB association request is not read: closed at once (long before the timeout).
        for kind, sock in socks:
            if kind == "huge":
                assert closed_by_server(sock, within=0.5), "a 16 MB association request was being read"
        # Silent and stalled connections are closed once their association request is overdue.
        deadline = started + ASSOCIATION_TIMEOUT + 3
        for kind, sock in socks:
            if kind != "huge":
                assert closed_by_server(sock, within=max(0.1, deadline - time.monotonic())), f"a {kind} connection"
        assert time.monotonic() - started < ASSOCIATION_TIMEOUT + 3
    finally:
        close_all(sock for _, sock in socks)
    # And afterwards the device still gets in.
    assert echoscu(port).returncode == 0
    # 50 closed connections from 50 addresses did not make 50 log lines.
    closed_lines = [r for r in caplog.records if r.name == "scans.dicom_server" and "closed:" in r.getMessage()]
    assert 0 < len(closed_lines) <= REFUSAL_LOG_LINES_PER_MINUTE


def test_one_address_cannot_take_every_connection(guarded_server):
    port, server = guarded_server(association_timeout=10)
    binary_require("echoscu")
    socks = [hostile(port, source="127.0.0.2") for _ in range(20)]
    try:
        # All but PER_ADDRESS are closed at once; those stay until their association request is overdue.
        wait_until(lambda: sum(map(closed_now, socks[PER_ADDRESS:])) == 20 - PER_ADDRESS, timeout=5, interval=0.1)
        assert not any(closed_now(sock) for sock in socks[:PER_ADDRESS])
        echo = echoscu(port)
        assert echo.returncode == 0, echo.stdout + echo.stderr
        # Another address is not limited by the first one's connections.
        other = hostile(port, source="127.0.0.3")
        socks.append(other)
        time.sleep(0.3)
        assert not closed_now(other)
    finally:
        close_all(socks)
    wait_until(lambda: server.open_connections() == 0, timeout=ASSOCIATION_TIMEOUT + 5)


def test_a_request_trickled_byte_by_byte_is_cut_off_at_the_association_timeout(guarded_server):
    """The reader is blocked inside the PDU the whole time (no ARTIM can fire): the watchdog ends it."""
    port, _server = guarded_server()
    sock = hostile(port, source="127.0.0.4", send=associate_rq_start(4096))
    started = time.monotonic()
    closed = False
    try:
        while time.monotonic() - started < ASSOCIATION_TIMEOUT + 4:
            try:
                sock.sendall(b"\x00")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_server(sock, within=0.25):
                closed = True
                break
        assert closed, "a trickling association request held its connection past the association timeout"
        assert time.monotonic() - started >= ASSOCIATION_TIMEOUT - 0.5
    finally:
        close_all([sock])


def test_total_connections_are_capped(guarded_server):
    port, _server = guarded_server(association_timeout=10, max_connections=6)
    socks = [hostile(port, source=f"127.0.1.{index}") for index in range(1, 10)]
    try:
        wait_until(lambda: all(closed_now(sock) for sock in socks[6:]), timeout=5, interval=0.1)
        assert not any(closed_now(sock) for sock in socks[:6])
    finally:
        close_all(socks)


def _opt_volume(tmp_path):
    from scans.tests.test_dicom_receive_device import acquired_today, opt_volume

    return acquired_today(opt_volume(tmp_path / "frames", frames=3))
