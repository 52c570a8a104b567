"""The production shape on loopback, for the soak test (``octclinic/tests/test_soak.py``).

Servers the test owns (so it may kill and restart them; the machine's shared PostgreSQL and Redis are never
touched): a PostgreSQL cluster made by ``initdb`` in a temporary folder, a ``redis-server`` with an append-only
file (as docker-compose runs it), and moto's S3 API server. Every listener is on a free port.

The application's processes, as docker-compose runs them: gunicorn (2 workers), 2 classification workers, the
training worker, beat and the DICOM process, each in its own process group.

Run as a module (``python -m octclinic.tests.soak_helpers COMMAND``) in the deployment's environment, it does the
database-side steps (seed, start a training, sweep, verify, count) and prints one JSON line.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
S3_KEY, S3_SECRET = "soak-access-key", "soak-secret-key"
DICOM_DEVICE_AE = "OCT-DEVICE-1"
PASSWORD = "correct-horse-battery-staple"  # octclinic.factories.TEST_PASSWORD


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            value = predicate()
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- Servers the test owns -------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise FileNotFoundError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return path


class PostgresServer:
    """A throwaway cluster (initdb refuses root, so as the postgres account when we are root)."""

    def __init__(self):
        # Not under pytest's tmp_path: that is 0700 root, unreadable for the postgres account.
        self.dir = Path(tempfile.mkdtemp(prefix="octsoak-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self._run(
            [
                _pg_bin("initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]
        )

    def _run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, cwd=self.dir, capture_output=True, text=True, timeout=timeout)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"{argv[-1]} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        return done

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            [_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"]
        )

    def stop(self, mode: str = "fast") -> None:
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def createdb(self, name: str) -> None:
        self._run([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """redis-server with an append-only file, as docker-compose runs it: a restart keeps the queues."""

    def __init__(self, folder: Path):
        self.dir = folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: self.ping(), timeout=30, what="redis-server answering PING")

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes its append-only file and exits
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class S3Server:
    """moto's S3 API server in its own process, so it can be stalled (SIGSTOP) like a hung object store."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.log = open(folder / "moto.log", "w")  # noqa: SIM115 - closed in stop()
        binary = Path(PYTHON).parent / "moto_server"
        argv = [str(binary)] if binary.exists() else [PYTHON, "-m", "moto.server"]
        self.process = subprocess.Popen(  # noqa: S603
            [*argv, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.port), timeout=60, what="moto S3 server listening")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def checksums(self, bucket: str) -> dict[str, str]:
        client, found = self.client(), {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"]] = hashlib.sha256(body).hexdigest()
        return found

    def stall(self, seconds: float) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- The application's processes -------------------------------------------------------------------


class AppProcess:
    """One process of the deployment, leading its own group (so gunicorn's and Celery's children go with it)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = logs / f"{name}.log"
        self.starts = 0
        self.start()

    def start(self) -> None:
        self.starts += 1
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self._log.write(f"\n=== start {self.starts} at {time.time():.3f}\n")
        self._log.flush()
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed argv
            self.argv, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill9(self) -> None:
        """SIGKILL to the whole group: what an OOM kill or a pulled plug does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)
        self._log.close()

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Pool children of a killed parent may outlive it in their group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def celery_worker_argv(queue: str, hostname: str) -> list[str]:
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "octclinic",
        "worker",
        "-Q",
        queue,
        "--hostname",
        hostname,
        "--loglevel",
        "INFO",
        "--concurrency",
        "1",
    ]


def deployment_env(
    *, data_dir: Path, database_url: str, redis_url: str, s3_endpoint: str, bucket: str, dicom_port: int
) -> dict[str, str]:
    """The environment docker-compose gives every service, pointed at the servers on loopback."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            (
                "DJANGO_",
                "DATABASE_",
                "REDIS_",
                "CACHE_",
                "S3_",
                "DICOM_",
                "CELERY_",
                "MLCORE_",
                "OCT_",
                "API_",
                "PYTEST",
                "AWS_",
            )
        )
    }
    env.update(
        DJANGO_SETTINGS_MODULE="octclinic.settings",
        DJANGO_ENV="development",  # production's TLS redirects and secure cookies need a proxy in front
        DJANGO_DEBUG="false",
        LOG_FORMAT="json",
        SECRET_KEY="soak-test-secret-key-" + "x" * 40,
        OCT_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        STORAGE_BACKEND="s3",
        S3_BUCKET=bucket,
        S3_ENDPOINT_URL=s3_endpoint,
        S3_ACCESS_KEY_ID=S3_KEY,
        S3_SECRET_ACCESS_KEY=S3_SECRET,
        # A killed worker's unacknowledged reading comes back within seconds, not the production hour.
        CELERY_VISIBILITY_TIMEOUT="20",
        DICOM_PORT=str(dicom_port),
        DICOM_BIND_ADDRESS="127.0.0.1",
        DICOM_ALLOWED_CALLING_AE_TITLES=f"{DICOM_DEVICE_AE},STORESCU",
        MLCORE_NUM_THREADS="1",
        MLCORE_CACHE_DIR=str(data_dir / "mlcore-cache"),
        API_THROTTLE_RATE="",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return done


def data_step(env: dict[str, str], command: str, argument: dict | None = None, timeout: float = 300) -> dict:
    """Run one of this module's database-side commands in the deployment's environment; its JSON answer."""
    done = subprocess.run(  # noqa: S603
        [PYTHON, "-m", "octclinic.tests.soak_helpers", command, json.dumps(argument or {})],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise AssertionError(f"soak step {command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return json.loads(lines[-1])


# --- Database-side steps (run inside the deployment's environment) --------------------------------


def _setup(argument: dict) -> dict:
    import datetime as dt

    from django.conf import settings

    from mlcore.phantom import phantom_folder_write
    from mlcore.testing import tiny_model_version_deploy
    from octclinic.factories import ClinicAdminFactory, DoctorFactory, TechnicianFactory
    from octclinic.services import api_token_create
    from patients.factories import CareTeamFactory, PatientFactory

    technician = TechnicianFactory(username="soak-tech")
    doctor = DoctorFactory(username="soak-doc")
    admin = ClinicAdminFactory(username="soak-admin")
    team = CareTeamFactory(members=[doctor])
    patients = [
        PatientFactory(mrn=f"SOAK{index:04d}", care_team=team, date_of_birth=dt.date(1950 + index, 1, 1))
        for index in range(argument.get("patients", 6))
    ]
    # The DICOM device's patient: the identity the test builder writes into its headers.
    dicom_patient = PatientFactory(
        mrn="SOAKDICOM",
        first_name="Erika",
        last_name="Mustermann",
        date_of_birth=dt.date(1960, 3, 14),
        sex="F",
        care_team=team,
    )
    # With its LiteRT export: the classification workers serve through it, as in production.
    model = tiny_model_version_deploy(version="soak-tiny")
    phantoms = phantom_folder_write(Path(settings.DATA_DIR) / "phantoms", per_class=10, patients_per_class=5)
    return {
        "tokens": {
            "technician": api_token_create(user=technician, name="soak").raw,
            "doctor": api_token_create(user=doctor, name="soak").raw,
            "admin": api_token_create(user=admin, name="soak").raw,
        },
        "usernames": {"technician": technician.username, "doctor": doctor.username, "admin": admin.username},
        "patients": [p.pk for p in patients],
        "dicom_patient": {"pk": dicom_patient.pk, "mrn": dicom_patient.mrn},
        "model_version": model.version,
        "phantoms": str(phantoms),
    }


def _start_training(argument: dict) -> dict:
    from django.contrib.auth import get_user_model

    from mlcore.services import training_run_request

    admin = get_user_model().objects.get(username="soak-admin")
    # Small on purpose: a training that runs through the drive on 2 shared cores, not a useful model.
    params = {
        "epochs": argument.get("epochs", 2),
        "input_size": 75,
        "batch_size": 8,
        "balanced_epoch": 96,
        "data": argument["data"],
    }
    run = training_run_request(params=params, started_by=admin, via="api")
    return {"run": run.pk}


def _sweep(argument: dict) -> dict:
    """What beat's sweeper does, without waiting its 10 minutes: re-send scans still queued."""
    from scans.classification import scans_classification_requeue

    return {"requeued": len(scans_classification_requeue(stale_minutes=0))}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _verify(argument: dict) -> dict:
    from collections import Counter

    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.core.files.storage import default_storage

    from mlcore.models import ModelVersion, TrainingRun
    from scans.models import AiStatus, Prediction, Review, Scan
    from scans.services import storage_orphans_sweep

    accepted_uuids = set(argument.get("uuids", []))
    accepted_sops = set(argument.get("sop_instance_uids", []))
    scans = list(Scan.objects.select_related("uploaded_by").all())
    by_uuid = {str(s.uuid): s for s in scans}
    by_sop = {s.sop_instance_uid: s for s in scans if s.sop_instance_uid}
    missing = sorted(u for u in accepted_uuids if u not in by_uuid) + sorted(
        u for u in accepted_sops if u not in by_sop
    )
    deployed = ModelVersion.objects.get(status=ModelVersion.Status.DEPLOYED)
    readings = Counter(Prediction.objects.values_list("scan_id", "model_version_id", "frame"))
    duplicates = [key for key, count in readings.items() if count != 1]
    not_classified, wrong_frames, latencies = [], [], []
    first_reading = {}
    for scan_id, created in Prediction.objects.values_list("scan_id", "created_at"):
        if scan_id not in first_reading or created < first_reading[scan_id]:
            first_reading[scan_id] = created
    for scan in scans:
        if scan.ai_status != AiStatus.CLASSIFIED:
            not_classified.append(str(scan.uuid))
            continue
        frames = sorted(f for (s, v, f) in readings if s == scan.pk and v == deployed.pk)
        wanted = sorted(scan.ai_frames or [scan.default_frame])
        if frames != wanted:
            wrong_frames.append({"scan": str(scan.uuid), "frames": frames, "wanted": wanted})
        if scan.pk in first_reading:
            latencies.append((first_reading[scan.pk] - scan.uploaded_at).total_seconds())

    sweep = storage_orphans_sweep(older_than_minutes=0, dry_run=True)
    rows_without_object = list(map(str, sweep.scans_missing_file))
    for scan in scans:
        for field in (scan.original, scan.preview, scan.thumbnail, scan.deidentified):
            if field.name and not default_storage.exists(field.name):
                rows_without_object.append(field.name)
    for name in Prediction.objects.exclude(heatmap="").values_list("heatmap", flat=True):
        if not default_storage.exists(name):
            rows_without_object.append(name)
    for version in ModelVersion.objects.exclude(artifact_path=""):
        if not default_storage.exists(version.artifact_path):
            rows_without_object.append(version.artifact_path)

    def audited(model) -> set[str]:
        content_type = ContentType.objects.get_for_model(model)
        return set(
            LogEntry.objects.filter(content_type=content_type, action=LogEntry.Action.CREATE).values_list(
                "object_pk", flat=True
            )
        )

    audit_missing = {}
    for model, pks in (
        (Scan, [s.pk for s in scans]),
        (Prediction, list(Prediction.objects.values_list("pk", flat=True))),
        (Review, list(Review.objects.values_list("pk", flat=True))),
    ):
        seen = audited(model)
        absent = [pk for pk in pks if str(pk) not in seen]
        if absent:
            audit_missing[model._meta.label] = absent[:20]
    scan_ct = ContentType.objects.get_for_model(Scan)
    scans_without_actor = list(
        LogEntry.objects.filter(content_type=scan_ct, action=LogEntry.Action.CREATE, actor__isnull=True).values_list(
            "object_pk", flat=True
        )[:20]
    )
    review_ct = ContentType.objects.get_for_model(Review)
    reviews_without_actor = list(
        LogEntry.objects.filter(content_type=review_ct, action=LogEntry.Action.CREATE, actor__isnull=True).values_list(
            "object_pk", flat=True
        )[:20]
    )
    runs = list(TrainingRun.objects.values("pk", "status", "epoch", "epochs_total"))
    return {
        "scans": len(scans),
        "scans_by_uploader": dict(Counter(s.uploaded_by.username if s.uploaded_by else "-" for s in scans)),
        "predictions": sum(readings.values()),
        "reviews": Review.objects.count(),
        "missing": missing,
        "duplicates": [list(k) for k in duplicates],
        "not_classified": not_classified,
        "wrong_frames": wrong_frames[:20],
        "orphan_objects": sweep.orphan_files,
        "rows_without_object": rows_without_object,
        "audit_missing": audit_missing,
        "scans_without_actor": scans_without_actor,
        "reviews_without_actor": reviews_without_actor,
        "latency_p50": _percentile(latencies, 0.5),
        "latency_p95": _percentile(latencies, 0.95),
        "latency_max": max(latencies) if latencies else None,
        "training_runs": runs,
    }


def _counts(argument: dict) -> dict:
    from django.apps import apps

    skip = {"contenttypes.contenttype", "auth.permission", "sessions.session", "admin.logentry"}
    return {
        model._meta.label_lower: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.label_lower not in skip and model._meta.managed and not model._meta.proxy
    }


COMMANDS = {"setup": _setup, "start_training": _start_training, "sweep": _sweep, "verify": _verify, "counts": _counts}


if __name__ == "__main__":
    import django

    django.setup()
    answer = COMMANDS[sys.argv[1]](json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
    print(json.dumps(answer, default=str))
