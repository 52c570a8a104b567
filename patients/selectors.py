"""Patient reads: search and lists."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from .models import Patient
from .services import mrn_normalize

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")


def patient_by_mrn(mrn: str) -> Patient | None:
    """The patient with this MRN, compared as the registration stores it (``services.mrn_normalize``), so a
    device, a form and the API find the same patient for ' ab-123 ' and 'AB-123'."""
    normalized = mrn_normalize(mrn)
    return Patient.objects.filter(mrn=normalized).first() if normalized else None


def _parse_date(text: str) -> dt.date | None:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def patient_search(
    *, query: str = "", include_archived: bool = False, base: QuerySet[Patient] | None = None
) -> QuerySet[Patient]:
    """Search by MRN (prefix), name (every word must match a first or last name) or birth date.

    ``base`` is the caller's reach (``patients.access.patients_visible_to``); pages always pass it.
    """
    qs = Patient.objects.all() if base is None else base
    if not include_archived:
        qs = qs.filter(is_archived=False)
    query = (query or "").strip()
    if not query:
        return qs
    birth_date = _parse_date(query)
    if birth_date is not None:
        return qs.filter(date_of_birth=birth_date)
    condition = Q(mrn__istartswith=query)
    name_condition = Q()
    for word in query.replace(",", " ").split():
        name_condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return qs.filter(condition | name_condition)
