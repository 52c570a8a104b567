"""Helpers for the review tests: a doctor's care team with a patient, and readings waiting for review."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from patients.factories import CareTeamFactory, PatientFactory
from scans.factories import PredictionFactory, ScanFactory
from scans.models import AiStatus, Prediction
from scans.review_queue_keys import scan_review_queue_refresh


def team_patient(*doctors):
    team = CareTeamFactory(members=list(doctors))
    return PatientFactory(care_team=team)


def waiting_reading(patient, *, label="CNV", uncertainty=0.2, hours_ago=1.0, eye="OD", **extra) -> Prediction:
    scan = ScanFactory(patient=patient, eye=eye, ai_status=AiStatus.CLASSIFIED)
    prediction = PredictionFactory(scan=scan, label=label, uncertainty=uncertainty, **extra)
    Prediction.objects.filter(pk=prediction.pk).update(created_at=timezone.now() - dt.timedelta(hours=hours_ago))
    scan_review_queue_refresh(scan_id=scan.pk)
    prediction.refresh_from_db()
    return prediction
