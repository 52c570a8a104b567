"""The one place that decides whether a user may see or add a patient's scans.

Every scan view and every file-serving endpoint asks here. Today the answer is role based (model
permissions from octclinic.roles); the care-team issue will add per-patient object permissions
(guardian) *in this function only*, and every caller follows.
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import PermissionDenied

Action = Literal["view", "add", "choose_frames"]
_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view": ("patients.view_patient", "scans.view_scan"),
    "add": ("patients.view_patient", "scans.view_scan", "scans.add_scan"),
    "choose_frames": ("patients.view_patient", "scans.view_scan", "scans.choose_scan_frames"),
}


def patient_scans_allowed(*, user, patient, action: Action = "view") -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.has_perms(_PERMISSIONS[action])


def patient_scans_require(*, user, patient, action: Action = "view") -> None:
    if not patient_scans_allowed(user=user, patient=patient, action=action):
        raise PermissionDenied
