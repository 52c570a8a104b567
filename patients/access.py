"""The one place that decides which patients a user can reach: HTML pages, admin, API, files and exports.

Every caller asks here, so a rule changes in one place and no page can forget it:

* no ``patients.view_patient`` permission (or not logged in, or inactive): nobody;
* ``patients.view_all_patients`` (technicians and clinic admins by role; a doctor granted clinic-wide
  access individually): every patient — technicians run the schedule and intake for the whole clinic;
* everyone else (doctors): the patients of the care teams they belong to, plus single patients granted to
  them as a django-guardian object permission (``patients.view_patient`` on that patient), e.g. a colleague
  asked for a second opinion.

Reviewing is a separate right (``scans.review_scan``) checked on top of this, in ``scans.access``.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import CareTeam, Patient

VIEW_ALL_PERMISSION = "patients.view_all_patients"


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def patients_visible_to(user) -> QuerySet[Patient]:
    """Every patient the user may see, as a queryset to filter further (``patient__in=...`` for related rows)."""
    if not _active(user) or not user.has_perm("patients.view_patient"):
        return Patient.objects.none()
    if user.has_perm(VIEW_ALL_PERMISSION):
        return Patient.objects.all()
    from guardian.shortcuts import get_objects_for_user

    granted = get_objects_for_user(
        user, "patients.view_patient", klass=Patient, accept_global_perms=False, with_superuser=False
    )
    teams = CareTeam.objects.filter(members=user).values("pk")
    # Subqueries, not joins: no duplicate rows, so callers may count, paginate and aggregate without distinct().
    return Patient.objects.filter(Q(care_team__in=teams) | Q(pk__in=granted.values("pk")))


def rows_of_visible_patients(queryset: QuerySet, user, *, field: str = "patient") -> QuerySet:
    """``queryset`` (of rows that belong to a patient through ``field``) narrowed to the user's patients.

    For clinic-wide access the rows come back unfiltered: ``patient__in=<every patient>`` would make the database
    join or hash the whole patient table on every list page, which is what a 100,000-scan archive cannot afford.
    """
    if not _active(user) or not user.has_perm("patients.view_patient"):
        return queryset.none()
    if user.has_perm(VIEW_ALL_PERMISSION):
        return queryset
    return queryset.filter(**{f"{field}__in": patients_visible_to(user)})


def patient_visible_to(*, user, patient: Patient) -> bool:
    if not _active(user) or not user.has_perm("patients.view_patient"):
        return False
    if user.has_perm(VIEW_ALL_PERMISSION):
        return True
    return patients_visible_to(user).filter(pk=patient.pk).exists()


def patient_require_visible(*, user, patient: Patient) -> None:
    """404 for a patient outside the user's reach: the same answer as for one that doesn't exist (and as the API's)."""
    if not patient_visible_to(user=user, patient=patient):
        raise Http404


def patient_ids_visible_to(user) -> set[int] | None:
    """The visible patient ids for masking lists that show every patient (the schedule); None means all."""
    if _active(user) and user.has_perm("patients.view_patient") and user.has_perm(VIEW_ALL_PERMISSION):
        return None
    return set(patients_visible_to(user).values_list("pk", flat=True))
