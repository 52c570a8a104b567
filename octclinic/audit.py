"""The audit trail for clinic admins: who viewed or changed which record, when and from where, and
every login and failed login. Reads django-auditlog's entries and django-axes' login records; both
are append-only from the application's side (no role may change or delete them)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from auditlog.models import LogEntry
from axes.models import AccessFailureLog, AccessLog
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

ACTIONS = {label: value for value, label in LogEntry.Action.choices}


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Staff username")
    object_type = forms.ModelChoiceField(
        queryset=ContentType.objects.none(), required=False, label="Record type", empty_label="All"
    )
    action = forms.ChoiceField(
        choices=[("", "All")] + [(v, lbl.title()) for v, lbl in LogEntry.Action.choices], required=False
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        used = LogEntry.objects.values_list("content_type", flat=True).distinct()
        self.fields["object_type"].queryset = ContentType.objects.filter(pk__in=used).order_by("app_label", "model")


def _day_bounds(since: dt.date | None, until: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(since, dt.time.min).replace(tzinfo=tz) if since else None
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min).replace(tzinfo=tz) if until else None
    return start, end


def audit_entries(*, filters: dict) -> QuerySet[LogEntry]:
    qs = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if filters.get("actor"):
        qs = qs.filter(actor__username=filters["actor"])
    if filters.get("object_type"):
        qs = qs.filter(content_type=filters["object_type"])
    if filters.get("action") not in (None, ""):
        qs = qs.filter(action=int(filters["action"]))
    start, end = _day_bounds(filters.get("since"), filters.get("until"))
    if start:
        qs = qs.filter(timestamp__gte=start)
    if end:
        qs = qs.filter(timestamp__lt=end)
    return qs


@dataclass(frozen=True)
class LoginEvent:
    when: dt.datetime
    username: str
    outcome: str  # "login", "failed", "locked out"
    ip_address: str


def login_events(*, filters: dict, limit: int = 200) -> list[LoginEvent]:
    start, end = _day_bounds(filters.get("since"), filters.get("until"))
    ok, failed = AccessLog.objects.all(), AccessFailureLog.objects.all()
    if filters.get("actor"):
        ok, failed = ok.filter(username=filters["actor"]), failed.filter(username=filters["actor"])
    if start:
        ok, failed = ok.filter(attempt_time__gte=start), failed.filter(attempt_time__gte=start)
    if end:
        ok, failed = ok.filter(attempt_time__lt=end), failed.filter(attempt_time__lt=end)
    events = [
        LoginEvent(a.attempt_time, a.username or "", "login", a.ip_address or "")
        for a in ok.order_by("-attempt_time")[:limit]
    ]
    events += [
        LoginEvent(f.attempt_time, f.username or "", "locked out" if f.locked_out else "failed", f.ip_address or "")
        for f in failed.order_by("-attempt_time")[:limit]
    ]
    return sorted(events, key=lambda e: e.when, reverse=True)[:limit]


def audit_csv(*, entries: QuerySet[LogEntry], user=None) -> str:
    """The entries as CSV; with ``user``, the changes column says what changed as the page does (patient values
    only where that user may see the patient)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["timestamp_utc", "actor", "action", "record_type", "record_id", "remote_addr", "changes"])
    for chunk in _chunks(entries.iterator(chunk_size=2000), 2000):
        changes = audit_changes(entries=chunk, user=user) if user is not None else None
        for entry in chunk:
            text = (
                "; ".join(change.text for change in changes[entry.pk])
                if changes is not None
                else entry.changes_text or (entry.changes if entry.changes else "")
            )
            _csv_row(writer, entry, text)
    return out.getvalue()


def _chunks(iterable, size: int):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _csv_row(writer, entry: LogEntry, changes: str) -> None:
    writer.writerow(
        [
            entry.timestamp.astimezone(dt.UTC).isoformat(),
            entry.actor.username if entry.actor else "",
            entry.get_action_display(),
            f"{entry.content_type.app_label}.{entry.content_type.model}",
            entry.object_pk,
            entry.remote_addr or "",
            changes,
        ]
    )


# --- What changed (the "Changes" column and the CSV) -------------------------------------------------------------

# Fields whose values identify or describe a patient (names, MRN, birth date, contact, free text that may carry
# either, DICOM header identity). Their old and new values are shown only to a viewer who may see the patient the
# record belongs to; everyone else reads "(hidden)" (the field name still says what changed).
PHI_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "date_of_birth",
        "mrn",
        "sex",
        "phone",
        "email",
        "address",
        "notes",
        "note",
        "reason",
        "cancellation_reason",
        "original_name",
        "header_patient_id",
        "header_patient_name",
        "header_birth_date",
        "header_sex",
    }
)
HIDDEN = "(hidden)"


@dataclass(frozen=True)
class AuditChange:
    field: str
    old: str
    new: str

    @property
    def text(self) -> str:
        return f"{self.field}: {self.old} → {self.new}"


def _value_text(value) -> str:
    if value is None or value == "None":
        return "–"
    if isinstance(value, dict):  # many-to-many: {"type": "m2m", "operation": "add", "objects": [...]}
        objects = ", ".join(str(o) for o in value.get("objects", []))
        return f"{value.get('operation', 'changed')} {objects}".strip()
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def _entry_patient_ids(entries: list[LogEntry]) -> dict[int, int | None]:
    """The patient each entry's record belongs to (the patient itself, or the record's ``patient``), one query per
    record type on the page; ``None`` where the record has no patient (or is gone)."""
    from patients.models import Patient

    wanted: dict[type, set[str]] = {}
    for entry in entries:
        model = entry.content_type.model_class()
        if model is None:
            continue
        if model is Patient or any(f.name == "patient" for f in model._meta.concrete_fields):
            wanted.setdefault(model, set()).add(entry.object_pk)
    owners: dict[tuple[type, str], int | None] = {}
    for model, pks in wanted.items():
        column = "pk" if model is Patient else "patient_id"
        valid = [pk for pk in pks if str(pk).isdigit()]
        for pk, patient_id in model.objects.filter(pk__in=valid).values_list("pk", column):
            owners[(model, str(pk))] = patient_id
    return {entry.pk: owners.get((entry.content_type.model_class(), str(entry.object_pk))) for entry in entries}


def audit_changes(*, entries, user) -> dict[int, list[AuditChange]]:
    """What each entry changed, field by field (old → new), for this viewer: values of patient fields
    (``PHI_FIELDS``) only where the viewer may see the record's patient."""
    from patients.access import VIEW_ALL_PERMISSION, patient_ids_visible_to

    entries = list(entries)
    sees_all = user.has_perm("patients.view_patient") and user.has_perm(VIEW_ALL_PERMISSION)
    owners = {} if sees_all else _entry_patient_ids(entries)
    visible = None if sees_all else patient_ids_visible_to(user)
    result: dict[int, list[AuditChange]] = {}
    for entry in entries:
        changes = entry.changes_dict or {}
        owner = owners.get(entry.pk)
        may_see = sees_all or (owner is not None and visible is not None and owner in visible)
        rows = []
        for field, values in changes.items():
            if isinstance(values, dict):
                old, new = "", _value_text(values)
            else:
                old, new = (list(values) + [None, None])[:2]
                old, new = _value_text(old), _value_text(new)
            if field in PHI_FIELDS and not may_see:
                old, new = (HIDDEN if old else ""), HIDDEN
            rows.append(AuditChange(field=field, old=old, new=new))
        result[entry.pk] = rows
    return result
