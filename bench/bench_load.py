"""Load benchmark: dashboards, the review queue and the API's lists with 100,000 scans seeded.

Runs gunicorn on loopback against its own PostgreSQL database (``octclinic_bench`` on the server named by
DATABASE_URL, default the local one), seeds it with bulk inserts, then sends a bounded number of requests
per endpoint from a few client threads and prints, side by side: queries per request (measured
in-process with the same data), p50/p95 latency, requests per second, errors, and the target.

Targets (issue "Security, audit, reliability and operations"): dashboards and review queue p95 <= 150 ms;
API patient and scan lists >= 200 requests/s on 2 cores with persistent database connections; zero errors.

    .venv/bin/python bench/bench_load.py [--scans 100000] [--requests 300] [--rounds 3] [--keep-db]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = "octclinic_bench"


def _server_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("bench_load needs PostgreSQL: set DATABASE_URL=postgres://... (the server; a database is created)")
    return base.rsplit("/", 1)[0]


def _recreate_database(server: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def _setup_django(database_url: str, data_dir: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="octclinic.settings", DATABASE_URL=database_url, OCT_DATA_DIR=str(data_dir)
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def _seed(n_scans: int, *, reviewed: float) -> dict:
    """Bulk-insert a clinic's worth of rows (no files: list pages never open them)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from mlcore.models import ModelVersion
    from octclinic.roles import CLINIC_ADMIN, DOCTOR, TECHNICIAN
    from patients.models import Patient
    from scans.models import Prediction, Scan

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    users = {}
    User = get_user_model()
    for username, role in (("bench-tech", TECHNICIAN), ("bench-doctor", DOCTOR), ("bench-admin", CLINIC_ADMIN)):
        user = User.objects.create_user(username, password=uuid.uuid4().hex, is_staff=role != TECHNICIAN)
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    _grant_clinic_wide(users[DOCTOR])

    n_patients = max(1, n_scans // 10)
    Patient.objects.bulk_create(
        [
            Patient(
                mrn=f"B{i:07d}",
                first_name=f"First{i}",
                last_name=f"Last{i % 997}",
                date_of_birth=dt.date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
            )
            for i in range(n_patients)
        ],
        batch_size=5000,
    )
    patient_ids = list(Patient.objects.values_list("pk", flat=True))
    version = ModelVersion.objects.create(version="bench-1", status=ModelVersion.Status.DEPLOYED, card={})
    now = timezone.now()
    labels = ["CNV", "DME", "DRUSEN", "NORMAL"]
    urgency = {"CNV": "urgent", "DME": "urgent", "DRUSEN": "routine", "NORMAL": "observation"}
    batch = 5000
    for start in range(0, n_scans, batch):
        scans = []
        for i in range(start, min(n_scans, start + batch)):
            scans.append(
                _scan_row(
                    i, patient_id=patient_ids[i % len(patient_ids)], day=(now - dt.timedelta(days=i % 700)).date()
                )
            )
        created = Scan.objects.bulk_create(scans, batch_size=batch)
        predictions = []
        for scan in created:
            label = rng.choice(labels)
            p = rng.uniform(0.4, 0.99)
            rest = (1 - p) / 3
            predictions.append(
                Prediction(
                    scan=scan,
                    model_version=version,
                    probabilities={c: (p if c == label else rest) for c in labels},
                    label=label,
                    confidence=p,
                    uncertainty=1 - p,
                    needs_careful_review=p < 0.7,
                    urgency=urgency[label],
                    model_ms=50.0,
                    input_sha256=uuid.uuid4().hex * 2,
                )
            )
        Prediction.objects.bulk_create(predictions, batch_size=batch)
    _spread_over_two_years()
    _review_share(users[DOCTOR], reviewed)
    from scans.review_queue_keys import scans_review_queue_refresh_all

    scans_review_queue_refresh_all()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load
    return users


def _spread_over_two_years() -> None:
    """Uploads and readings dated like a clinic's archive (the day each image was taken), not all today."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scans_scan SET uploaded_at = acquired_on + time '08:00' + (id % 600) * interval '1 minute'"
        )
        cursor.execute(
            "UPDATE scans_prediction p SET created_at = s.uploaded_at + interval '1 minute' "
            "FROM scans_scan s WHERE s.id = p.scan_id"
        )


def _review_share(doctor, share: float) -> None:
    """Decide ``share`` of the readings (every tenth one waits when share is 0.9), each a day or two after it
    arrived, so the waiting ones are spread over the archive and the dashboards' week and month windows hold
    a clinic's normal number of decisions."""
    from django.db import connection

    from scans.models import Prediction, Review

    predictions = Prediction.objects.order_by("pk")
    every = round(1 / (1 - share)) if share < 1 else 0
    reviews = [
        Review(
            scan_id=p.scan_id,
            prediction=p,
            model_version_id=p.model_version_id,
            ai_label=p.label,
            ai_urgency=p.urgency,
            decision="approved",
            label=p.label,
            reviewer=doctor,
            queued_at=p.created_at,
        )
        for n, p in enumerate(predictions.iterator(chunk_size=5000))
        if share > 0 and (not every or n % every)
    ]
    Review.objects.bulk_create(reviews, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scans_review SET created_at = LEAST(now(), queued_at + (1 + id % 47) * interval '1 hour')"
        )


def _scan_row(i: int, *, patient_id: int, day: dt.date):
    """A classified PNG scan row without files (list pages never open them); every required field named, so a
    model change fails the seeding loudly."""
    from scans.models import AiStatus, FileFormat, Scan

    digest = f"{i:064x}"
    return Scan(
        patient_id=patient_id,
        eye="OD" if i % 2 else "OS",
        acquired_on=day,
        file_format=FileFormat.PNG,
        original=f"scans/bench/{i}.png",
        original_name=f"bscan-{i}.png",
        content_type="image/png",
        size_bytes=1000,
        sha256=digest,
        width=512,
        height=496,
        ai_status=AiStatus.CLASSIFIED,
        preview=f"scans/bench/{i}-preview.png",
        preview_sha256=digest,
        thumbnail=f"scans/bench/{i}-thumb.png",
        thumbnail_sha256=digest,
    )


def _grant_clinic_wide(doctor) -> None:
    from django.contrib.auth.models import Permission

    perm = Permission.objects.filter(codename="view_all_patients").first()
    if perm:
        doctor.user_permissions.add(perm)


def _session_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from octclinic.sessions import SESSION_KEY as STARTED

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = next(b for b in settings.AUTHENTICATION_BACKENDS if b.endswith(".ModelBackend"))
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[STARTED] = int(time.time())
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _api_token(user) -> str:
    from octclinic.services import api_token_create

    return api_token_create(user=user, name="bench").raw


def _endpoints(users: dict) -> list[dict]:
    from django.urls import NoReverseMatch, reverse

    from octclinic.roles import CLINIC_ADMIN, DOCTOR, TECHNICIAN

    cookies = {role: _session_cookie(user) for role, user in users.items()}
    token = _api_token(users[CLINIC_ADMIN])
    wanted = [
        ("dashboard (technician)", "home", TECHNICIAN, "p95"),
        ("dashboard (doctor)", "home", DOCTOR, "p95"),
        ("dashboard (clinic admin)", "home", CLINIC_ADMIN, "p95"),
        ("review queue (doctor)", "scans:review_queue", DOCTOR, "p95"),
    ]
    endpoints = []
    for label, name, role, target in wanted:
        try:
            path = reverse(name)
        except NoReverseMatch:
            print(f"  (skipped {label}: no URL named {name!r})")
            continue
        endpoints.append({"label": label, "path": path, "headers": {"Cookie": cookies[role]}, "target": target})
    for label, path in (("API patients list", "/api/v1/patients/"), ("API scans list", "/api/v1/scans/")):
        endpoints.append(
            {"label": label, "path": path, "headers": {"Authorization": f"Bearer {token}"}, "target": "rps"}
        )
    return endpoints


def _query_count(endpoint: dict) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers=endpoint["headers"])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(endpoint["path"], follow=False)
    if response.status_code >= 400:
        return -response.status_code
    return len(ctx.captured_queries)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(database_url: str, data_dir: Path, workers: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "octclinic.settings",
        "DATABASE_URL": database_url,
        "OCT_DATA_DIR": str(data_dir),
        "DB_CONN_MAX_AGE": "600",
        "DJANGO_DEBUG": "false",  # as in production: no query log, no template debug data
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_RATE": "",
    }
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "gunicorn", "octclinic.wsgi:application", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.3)
    server.kill()
    sys.exit("gunicorn did not come up within 60 s")


def _load(port: int, endpoint: dict, n: int, concurrency: int, max_seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(n))
    deadline = time.monotonic() + max_seconds

    def worker():
        nonlocal errors
        while time.monotonic() < deadline:
            with lock:
                if next(counter, None) is None:
                    return
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", endpoint["path"], headers=endpoint["headers"])
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                conn.close()
            except OSError:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1

    for _ in range(8):  # warm the workers' connections and caches; not measured
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", endpoint["path"], headers=endpoint["headers"])
            conn.getresponse().read()
            conn.close()
        except OSError:
            pass
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {
        "n": len(latencies),
        "p50": p(0.50),
        "p95": p(0.95),
        "rps": len(latencies) / wall if wall else 0.0,
        "errors": errors,
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0.0,
    }


def _summary(runs: list[dict]) -> dict:
    """Medians over the rounds (errors summed): one slow minute on a shared machine doesn't decide a target."""
    return {
        "p50": statistics.median(r["p50"] for r in runs),
        "p95": statistics.median(r["p95"] for r in runs),
        "rps": statistics.median(r["rps"] for r in runs),
        "rps_min": min(r["rps"] for r in runs),
        "rps_max": max(r["rps"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--max-seconds", type=float, default=60, help="per endpoint, a hard bound")
    parser.add_argument("--keep-db", action="store_true", help="reuse an already seeded bench database")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure every endpoint this many times, in turn; the table shows the medians and the req/s range "
        "(a shared 2-core machine drifts by 10-20%% between minutes)",
    )
    parser.add_argument(
        "--reviewed",
        type=float,
        default=0.9,
        help="share of scans already decided, oldest first (default 0.9: 10,000 of 100,000 wait; 0: all wait)",
    )
    args = parser.parse_args()

    server_url = _server_url()
    database_url = f"{server_url}/{BENCH_DB}"
    data_dir = ROOT / "var" / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if not args.keep_db:
        _recreate_database(server_url)
    _setup_django(database_url, data_dir)
    if args.keep_db:
        import psycopg

        try:
            psycopg.connect(database_url).close()
        except psycopg.OperationalError:
            sys.exit(f"--keep-db: there is no seeded {BENCH_DB} database yet; run once without --keep-db")
        from django.contrib.auth import get_user_model

        from octclinic.roles import CLINIC_ADMIN, DOCTOR, TECHNICIAN

        User = get_user_model()
        users = {
            TECHNICIAN: User.objects.get(username="bench-tech"),
            DOCTOR: User.objects.get(username="bench-doctor"),
            CLINIC_ADMIN: User.objects.get(username="bench-admin"),
        }
    else:
        print(f"seeding {args.scans:,} scans ...", flush=True)
        users = _seed(args.scans, reviewed=args.reviewed)
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    endpoints = _endpoints(users)
    for endpoint in endpoints:
        endpoint["queries"] = _query_count(endpoint)

    server, port = _start_server(database_url, data_dir, args.workers)
    runs: dict[str, list[dict]] = {endpoint["label"]: [] for endpoint in endpoints}
    try:
        for _ in range(max(1, args.rounds)):
            for endpoint in endpoints:
                runs[endpoint["label"]].append(_load(port, endpoint, args.requests, args.concurrency, args.max_seconds))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    rows = [(endpoint, _summary(runs[endpoint["label"]])) for endpoint in endpoints]

    print()
    print(f"{args.scans:,} scans, {args.requests} requests per endpoint and round, {args.rounds} rounds, "
          f"{args.concurrency} clients, {args.workers} gunicorn workers, {os.cpu_count()} CPU cores; "
          "medians of the rounds, req/s range in brackets")  # fmt: skip
    header = (
        f"{'endpoint':28} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'(range)':>15} {'errors':>6}  target"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for endpoint, r in rows:
        if endpoint["target"] == "p95":
            ok = r["p95"] <= 150 and r["errors"] == 0
            target = f"p95 <= 150 ms  {'PASS' if ok else 'MISS'}"
        else:
            ok = r["rps"] >= 200 and r["errors"] == 0
            target = f">= 200 req/s   {'PASS' if ok else 'MISS'}"
        all_ok &= ok
        spread = f"({r['rps_min']:.0f}-{r['rps_max']:.0f})"
        print(
            f"{endpoint['label']:28} {endpoint['queries']:>7} {r['p50']:>8.1f} {r['p95']:>8.1f} "
            f"{r['rps']:>8.1f} {spread:>15} {r['errors']:>6}  {target}"
        )
    print(f"\nall targets met: {all_ok}; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
