"""The demo clinic that `make run` seeds: staff of each role, two care teams (one per doctor), about 20
patients shared between them, a week of appointments on two OCT devices and the past week's scans. Once the
demo model is deployed (`seed_demo_model`, which runs after `seed_demo`), `seed_demo_readings` gives the scans
their AI readings and the doctors a realistic queue: most readings reviewed, one second opinion asked, one
reading overdue. Seeding goes through the same services as the staff pages, so the demo obeys the booking and
review rules; running it again changes nothing that is already there.

Every name here is invented; the demo holds no real patient data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patients.models import CareTeam, Patient, Sex
from patients.services import patient_care_team_assign, patient_create, patient_update
from scheduling.models import Appointment, OpeningHours, Resource
from scheduling.services import appointment_book, appointment_check_in, local_datetime_build

from .roles import CLINIC_ADMIN, DOCTOR, TECHNICIAN, user_staff_flag

DEMO_STAFF = [
    ("clinicadmin", "Clara", "Admin", CLINIC_ADMIN),
    ("doctor", "Daniel", "Okafor", DOCTOR),
    ("doctor2", "Mira", "Lindqvist", DOCTOR),
    ("tech", "Tomas", "Reyes", TECHNICIAN),
    ("tech2", "Aiko", "Tanaka", TECHNICIAN),
]
# Each first name with the sex it goes with (the demo once gave Ben, Rosa and others the other sex).
FIRST_NAMES = [
    ("Anna", Sex.FEMALE), ("Ben", Sex.MALE), ("Carla", Sex.FEMALE), ("David", Sex.MALE), ("Elif", Sex.FEMALE),
    ("Farid", Sex.MALE), ("Greta", Sex.FEMALE), ("Hugo", Sex.MALE), ("Ines", Sex.FEMALE), ("Jonas", Sex.MALE),
    ("Kira", Sex.FEMALE), ("Luca", Sex.MALE), ("Mona", Sex.FEMALE), ("Nils", Sex.MALE), ("Olga", Sex.FEMALE),
    ("Paul", Sex.MALE), ("Quentin", Sex.MALE), ("Rosa", Sex.FEMALE), ("Sami", Sex.MALE), ("Tara", Sex.FEMALE),
]  # fmt: skip
LAST_NAMES = [
    "Albers", "Brandt", "Costa", "Dietz", "Engel", "Fischer", "Graf", "Hahn", "Ivanova", "Jansen",
    "Keller", "Lang", "Meyer", "Novak", "Ortiz", "Peters", "Quast", "Roth", "Schulz", "Vogel",
]  # fmt: skip
# The only first name the fix changed: DEMO-1017 was "Quinn" (either sex) and became "Quentin".
FIRST_NAMES_BEFORE = {"DEMO-1017": "Quinn"}
REASONS = ["AMD follow-up", "Diabetic screening", "New referral", "Post-injection check", "Routine OCT"]
# Each doctor has a care team and sees only its patients; demo patients alternate between the two.
CARE_TEAMS = [("Retina team", "doctor"), ("Diabetic eye team", "doctor2")]
# The AE titles let a device (or dcmtk's findscu -aet OCT1) ask for its own worklist (docs/dicom.md).
DEVICES = [
    ("OCT-1 Spectralis", "Heidelberg Spectralis", "Room 1", "OCT1"),
    ("OCT-2 Cirrus", "Zeiss Cirrus 6000", "Room 2", "OCT2"),
]


@dataclass
class DemoLogin:
    username: str
    role: str
    password: str | None  # None: an existing account whose password we don't know any more


def _credentials_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-logins.json"


def _staff_seed(password: str | None) -> list[DemoLogin]:
    User = get_user_model()
    stored = {}
    cred_file = _credentials_file()
    if cred_file.exists():
        stored = json.loads(cred_file.read_text())
    logins = []
    for username, first, last, role in DEMO_STAFF:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.octclinic.invalid"},
        )
        user.groups.add(Group.objects.get(name=role))
        if created or password:
            chosen = password or secrets.token_urlsafe(12)
            user.set_password(chosen)
            stored[username] = chosen
        user.is_staff = user_staff_flag(user)
        user.save()
        logins.append(DemoLogin(username, role, stored.get(username)))
    cred_file.parent.mkdir(parents=True, exist_ok=True)
    cred_file.write_text(json.dumps(stored, indent=2))
    cred_file.chmod(0o600)
    return logins


def _devices_seed() -> list[Resource]:
    resources = []
    for name, model_name, location, ae_title in DEVICES:
        resource, created = Resource.objects.get_or_create(
            name=name, defaults={"model_name": model_name, "location": location, "dicom_ae_title": ae_title}
        )
        if created:
            for weekday in range(5):
                OpeningHours.objects.create(resource=resource, weekday=weekday, opens=dt.time(8), closes=dt.time(18))
            OpeningHours.objects.create(resource=resource, weekday=5, opens=dt.time(9), closes=dt.time(13))
        resources.append(resource)
    return resources


def _patients_seed(rng: random.Random, admin) -> list[Patient]:
    patients = []
    for i in range(20):
        mrn = f"DEMO-{1001 + i}"
        first_name, sex = FIRST_NAMES[i]
        patient = Patient.objects.filter(mrn=mrn).first()
        birth = dt.date(1940 + rng.randrange(55), rng.randrange(1, 13), rng.randrange(1, 29))  # drawn every run
        if patient is None:
            patient = patient_create(
                created_by=admin,
                mrn=mrn,
                first_name=first_name,
                last_name=LAST_NAMES[(i * 7) % len(LAST_NAMES)],
                date_of_birth=birth,
                sex=sex,
                phone=f"+49 30 5550{1000 + i}",
            )
        elif patient.first_name == FIRST_NAMES_BEFORE.get(mrn, first_name) and patient.sex != sex:
            # A demo seeded by an earlier version: put its name and sex right (only while nobody renamed it).
            patient = patient_update(patient=patient, updated_by=admin, first_name=first_name, sex=sex)
        patients.append(patient)
    return patients


def _care_teams_seed(patients: list[Patient], admin) -> list[CareTeam]:
    """Teams with their doctor; patients without a team are shared out (re-runs move nobody)."""
    User = get_user_model()
    teams = []
    for name, username in CARE_TEAMS:
        team, _ = CareTeam.objects.get_or_create(name=name)
        team.members.add(User.objects.get(username=username))
        teams.append(team)
    for i, patient in enumerate(patients):
        if patient.care_team_id is None:
            patient_care_team_assign(patient=patient, care_team=teams[i % len(teams)], assigned_by=admin)
    return teams


def _appointments_seed(rng: random.Random, resources, patients, technicians, admin) -> int:
    """A week of appointments from today, only if none are booked yet (so re-runs keep the data)."""
    if Appointment.objects.exists():
        return 0
    now = timezone.now()
    today = timezone.localdate()
    booked = 0
    for offset in range(7):
        day = today + dt.timedelta(days=offset)
        for resource in resources:
            hours = [oh for oh in resource.opening_hours.all() if oh.weekday == day.weekday()]
            for oh in hours:
                slot = dt.datetime.combine(day, oh.opens)
                closes = dt.datetime.combine(day, oh.closes)
                while slot + dt.timedelta(minutes=20) <= closes:
                    if rng.random() < 0.35:
                        start = local_datetime_build(day=day, time=slot.time())
                        end = start + dt.timedelta(minutes=20)
                        try:
                            appointment_book(
                                patient=rng.choice(patients),
                                resource=resource,
                                start=start,
                                end=end,
                                technician=rng.choice(technicians),
                                reason=rng.choice(REASONS),
                                booked_by=admin,
                                now=now,
                            )
                            booked += 1
                        except ValidationError:
                            pass  # past slot or the patient is busy then: skip, as a receptionist would
                    slot += dt.timedelta(minutes=20)
    # Check in today's first few so the technician dashboard has some life in it.
    for appointment in Appointment.objects.filter(start__date=today).order_by("start")[:3]:
        with contextlib.suppress(ValidationError):  # e.g. already checked in by an earlier run
            appointment_check_in(appointment=appointment, checked_in_by=technicians[0], now=now)
    return booked


# The past week's scans: (days ago, patient index, eye, phantom class). Each is a small synthetic B-scan.
DEMO_SCANS = [
    (7, 0, "OD", "CNV"), (7, 1, "OS", "NORMAL"), (6, 2, "OD", "DRUSEN"), (6, 3, "OD", "DME"),
    (5, 4, "OS", "NORMAL"), (4, 5, "OD", "CNV"), (4, 6, "OS", "DRUSEN"), (3, 7, "OD", "NORMAL"),
    (2, 8, "OD", "DME"), (1, 9, "OS", "CNV"), (1, 10, "OD", "DRUSEN"), (0, 11, "OS", "NORMAL"),
]  # fmt: skip
DEMO_SCAN_SIZE = (160, 120)  # small enough to seed quickly, big enough to pass the OCT image check


def _scans_seed(patients: list[Patient], technicians) -> int:
    """The past week's scans, uploaded as a technician does, only if no demo patient has a scan yet. Their AI
    readings come once a model is deployed (``demo_readings_seed``); until then they wait as any upload would."""
    from mlcore.phantom import phantom_png
    from scans.models import Scan
    from scans.services import scan_upload

    if Scan.objects.filter(patient__in=patients).exists():
        return 0
    today = timezone.localdate()
    for n, (days_ago, index, eye, label) in enumerate(DEMO_SCANS):
        scan_upload(
            patient=patients[index],
            eye=eye,
            acquired_on=today - dt.timedelta(days=days_ago),
            file_name=f"demo-{label.lower()}-{n + 1}.png",
            data=phantom_png(label, seed=2026 + n, size=DEMO_SCAN_SIZE),
            uploaded_by=technicians[n % len(technicians)],
        )
    return len(DEMO_SCANS)


def _team_doctor(patient: Patient):
    usernames = dict(CARE_TEAMS)
    return get_user_model().objects.get(username=usernames[patient.care_team.name])


@transaction.atomic
def demo_readings_seed(*, now: dt.datetime | None = None) -> int:
    """AI readings of the demo scans by the deployed model, stored synchronously through the classification
    service; then, the first time only, the doctors' week: readings older than two days reviewed (one corrected),
    one second opinion asked of the other doctor, one reading left overdue, the newest waiting. Readings and
    reviews are dated on the scan's day, so queues, turnaround and charts look like a clinic's week. Returns the
    number of scans read now; nothing without a deployed model or demo scans."""
    from mlcore.labels import CLASSES
    from mlcore.selectors import model_version_deployed
    from scans.classification import scan_classify
    from scans.models import AiStatus, Prediction, Review, ReviewDecision, Scan, SecondOpinionRequest
    from scans.review import review_decide, review_second_opinion_request
    from scans.review_queue_keys import scan_review_queue_refresh
    from scans.review_selectors import review_target_hours, scan_prediction_for_review

    if model_version_deployed() is None:
        return 0
    scans = list(Scan.objects.filter(patient__mrn__startswith="DEMO-").select_related("patient__care_team"))
    read = 0
    for scan in scans:
        if scan.ai_status != AiStatus.CLASSIFIED or not Prediction.objects.filter(scan=scan).exists():
            read += bool(scan_classify(scan_id=scan.pk))
    if Review.objects.filter(scan__in=scans).exists() or SecondOpinionRequest.objects.filter(scan__in=scans).exists():
        return read  # the doctors' week is already there
    now = now or timezone.now()
    today = timezone.localdate(now)
    readings = []
    for scan in sorted(scans, key=lambda s: (s.acquired_on, s.pk)):
        scan.refresh_from_db()
        prediction = scan_prediction_for_review(scan=scan) if scan.ai_status == AiStatus.CLASSIFIED else None
        if prediction is not None:
            readings.append((scan, prediction))
    older = [(s, p) for s, p in readings if (today - s.acquired_on).days > 2]
    recent = [(s, p) for s, p in readings if (today - s.acquired_on).days <= 2]
    overdue = older.pop() if older else None
    targets = review_target_hours()
    for n, (scan, prediction) in enumerate(older):
        read_at = local_datetime_build(day=scan.acquired_on, time=dt.time(10, 0))
        Prediction.objects.filter(scan=scan).update(created_at=read_at)
        if n % 4 == 3 or not prediction.suggests:
            other = next(label for label in CLASSES if label != prediction.label)
            review = review_decide(
                scan=scan, reviewer=_team_doctor(scan.patient), decision=ReviewDecision.CORRECTED, label=other
            )
        else:
            review = review_decide(scan=scan, reviewer=_team_doctor(scan.patient), decision=ReviewDecision.APPROVED)
        Review.objects.filter(pk=review.pk).update(created_at=read_at + dt.timedelta(hours=3 + n % 5))
    if overdue is not None:
        scan, prediction = overdue
        target = targets.get(scan.queue_urgency, targets["routine"])
        Prediction.objects.filter(scan=scan).update(created_at=now - dt.timedelta(hours=target + 6))
    for n, (scan, _prediction) in enumerate(recent):
        Prediction.objects.filter(scan=scan).update(created_at=now - dt.timedelta(hours=2 + n))
    if recent:
        scan = recent[0][0]
        doctor = _team_doctor(scan.patient)
        colleague = get_user_model().objects.filter(username__in=dict(CARE_TEAMS).values()).exclude(pk=doctor.pk)
        review_second_opinion_request(
            scan=scan, requested_by=doctor, colleague=colleague.first(), note="Subretinal fluid? Please take a look."
        )
    for scan, _prediction in readings:
        scan_review_queue_refresh(scan_id=scan.pk)
    return read


@transaction.atomic
def demo_clinic_seed(*, password: str | None = None, seed: int = 2026) -> list[DemoLogin]:
    rng = random.Random(seed)
    logins = _staff_seed(password)
    User = get_user_model()
    admin = User.objects.get(username="clinicadmin")
    technicians = list(User.objects.filter(username__in=["tech", "tech2"]))
    resources = _devices_seed()
    patients = _patients_seed(rng, admin)
    _care_teams_seed(patients, admin)
    _appointments_seed(rng, resources, patients, technicians, admin)
    _scans_seed(patients, technicians)
    demo_readings_seed()  # only where a model is already deployed (a re-run after seed_demo_model)
    return logins
