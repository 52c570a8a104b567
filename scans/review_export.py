"""Reviewed results as rows for CSV and JSON export, identified or de-identified.

De-identified rows carry no name, MRN, birth date, free-text note or full date: the patient is a salted HMAC
key (the same one training splits use, so a data scientist can group by patient without knowing who it is)
and the scan date is reduced to its year.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io

from django.conf import settings

from .review_selectors import reviews_for_export
from .training_source import patient_group_key

IDENTIFIED_FIELDS = [
    "patient_id",
    "mrn",
    "patient_name",
    "date_of_birth",
    "scan_uuid",
    "eye",
    "acquired_on",
    "model_version",
    "synthetic",
    "model_notice",
    "ai_label",
    "ai_urgency",
    "deferred",
    "recognised",
    "refusal_reason",
    "decision",
    "label",
    "agrees_with_ai",
    "second_opinion",
    "reviewer",
    "reviewed_at",
    "note",
]
DEIDENTIFIED_FIELDS = [
    "patient_key",
    "scan_key",
    "eye",
    "acquired_year",
    "model_version",
    "synthetic",
    "model_notice",
    "ai_label",
    "ai_urgency",
    "deferred",
    "recognised",
    "refusal_reason",
    "decision",
    "label",
    "agrees_with_ai",
    "second_opinion",
    "reviewed_at",
]


def _scan_key(scan_pk: int) -> str:
    salt = (getattr(settings, "SCANS_DEID_UID_SALT", "") or settings.SECRET_KEY).encode()
    return "scan:" + hmac.new(salt, f"scan:{scan_pk}".encode(), hashlib.sha256).hexdigest()[:24]


def _utc(value) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def reviews_export_rows(*, user, deidentified: bool) -> list[dict]:
    """One row per decision (primary and second opinions) on the patients the user may export.

    Each row says what the AI's side was: a suggestion (``ai_label``), a deferral (``deferred``: the AI was unsure,
    the doctor read it without a suggestion) or an image not recognised as OCT (``recognised`` false, with the
    reason), and whether the model was a synthetic/non-clinical one, so no analysis mistakes either for a diagnosis.
    """
    from mlcore.selectors import model_versions_provenance

    reviews = list(reviews_for_export(user=user))
    provenance = model_versions_provenance(model_versions={r.model_version for r in reviews if r.model_version})
    rows = []
    for review in reviews:
        scan, patient = review.scan, review.scan.patient
        model = provenance.get(review.model_version_id) or {}
        common = {
            "eye": scan.eye,
            "model_version": review.model_version.version if review.model_version else "",
            "synthetic": model.get("synthetic", ""),
            "model_notice": model.get("notice", ""),
            "ai_label": review.ai_label,
            "ai_urgency": review.ai_urgency,
            "deferred": review.ai_deferred,
            "recognised": review.ai_recognised,
            "refusal_reason": review.prediction.refusal_reason if review.prediction else "",
            "decision": review.decision,
            "label": review.label,
            "agrees_with_ai": review.agrees_with_ai,
            "second_opinion": review.is_second_opinion,
            "reviewed_at": _utc(review.created_at),
        }
        if deidentified:
            rows.append(
                {
                    "patient_key": patient_group_key(patient.pk),
                    "scan_key": _scan_key(scan.pk),
                    "acquired_year": scan.acquired_on.year,
                    **common,
                }
            )
        else:
            rows.append(
                {
                    "patient_id": patient.pk,
                    "mrn": patient.mrn,
                    "patient_name": patient.full_name,
                    "date_of_birth": patient.date_of_birth.isoformat(),
                    "scan_uuid": str(scan.uuid),
                    "acquired_on": scan.acquired_on.isoformat(),
                    "reviewer": review.reviewer.get_username(),
                    "note": review.note,
                    **common,
                }
            )
    return rows


def reviews_export_csv(*, rows: list[dict], deidentified: bool) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DEIDENTIFIED_FIELDS if deidentified else IDENTIFIED_FIELDS)
    writer.writeheader()
    for row in rows:
        # Spreadsheet formula injection: a value starting with = + - @ is read as a formula by Excel.
        writer.writerow(
            {k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v) for k, v in row.items()}
        )
    return buffer.getvalue()
