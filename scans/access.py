"""The one place that decides whether a user may see or add a patient's scans.

Every scan view, file-serving endpoint, review page, admin list and export asks here. Two checks, both
needed: the role's model permissions (octclinic.roles) for the action, and ``patients.access`` for the
patient (care team, clinic-wide access, guardian grants). Reviewing is its own right (``scans.review_scan``,
doctors only): technicians and clinic admins without the doctor role see readings but never decide them.
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import PermissionDenied

from patients.access import patient_visible_to, rows_of_visible_patients

Action = Literal["view", "add", "choose_frames", "review", "export"]
_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view": ("patients.view_patient", "scans.view_scan"),
    "add": ("patients.view_patient", "scans.view_scan", "scans.add_scan"),
    "choose_frames": ("patients.view_patient", "scans.view_scan", "scans.choose_scan_frames"),
    "review": ("patients.view_patient", "scans.view_scan", "scans.view_prediction", "scans.review_scan"),
    "export": ("patients.view_patient", "scans.view_scan", "scans.export_review"),
}


def patient_scans_allowed(*, user, patient, action: Action = "view") -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.has_perms(_PERMISSIONS[action]) and patient_visible_to(user=user, patient=patient)


def action_allowed(*, user, action: Action) -> bool:
    """Whether the role may do this at all (for navigation and list pages, before any patient is known)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.has_perms(_PERMISSIONS[action])


def action_require(*, user, action: Action) -> None:
    if not action_allowed(user=user, action=action):
        raise PermissionDenied


def scans_visible_to(user, *, action: Action = "view"):
    """The scans the user may act on, for list pages, queues, admin and exports (a queryset)."""
    from .models import Scan

    return scan_rows_visible_to(Scan.objects.all(), user, action=action, field="")


def scan_rows_visible_to(queryset, user, *, action: Action = "view", field: str = "scan"):
    """Rows that belong to a scan (readings, decisions) narrowed to the scans the user may act on, without a
    ``scan__in=<every scan>`` subquery for clinic-wide users."""
    if not action_allowed(user=user, action=action):
        return queryset.none()
    return rows_of_visible_patients(queryset, user, field=f"{field}__patient" if field else "patient")


def patient_scans_require(*, user, patient, action: Action = "view") -> None:
    if not patient_scans_allowed(user=user, patient=patient, action=action):
        raise PermissionDenied
