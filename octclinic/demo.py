"""The demo clinic that `make run` seeds: staff of each role, two care teams (one per doctor), about 20
patients shared between them, and a week of appointments on two OCT devices. Seeding goes through the same
services as the staff pages, so the demo obeys the booking rules; running it again changes nothing that is
already there.

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
from patients.services import patient_care_team_assign, patient_create
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
FIRST_NAMES = [
    "Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas",
    "Kira", "Luca", "Mona", "Nils", "Olga", "Paul", "Quinn", "Rosa", "Sami", "Tara",
]  # fmt: skip
LAST_NAMES = [
    "Albers", "Brandt", "Costa", "Dietz", "Engel", "Fischer", "Graf", "Hahn", "Ivanova", "Jansen",
    "Keller", "Lang", "Meyer", "Novak", "Ortiz", "Peters", "Quast", "Roth", "Schulz", "Vogel",
]  # fmt: skip
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
        patient = Patient.objects.filter(mrn=mrn).first()
        if patient is None:
            patient = patient_create(
                created_by=admin,
                mrn=mrn,
                first_name=FIRST_NAMES[i],
                last_name=LAST_NAMES[(i * 7) % len(LAST_NAMES)],
                date_of_birth=dt.date(1940 + rng.randrange(55), rng.randrange(1, 13), rng.randrange(1, 29)),
                sex=Sex.FEMALE if i % 2 else Sex.MALE,
                phone=f"+49 30 5550{1000 + i}",
            )
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
    return logins
