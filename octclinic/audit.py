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


def audit_csv(*, entries: QuerySet[LogEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["timestamp_utc", "actor", "action", "record_type", "record_id", "remote_addr", "changes"])
    for entry in entries.iterator(chunk_size=2000):
        writer.writerow(
            [
                entry.timestamp.astimezone(dt.UTC).isoformat(),
                entry.actor.username if entry.actor else "",
                entry.get_action_display(),
                f"{entry.content_type.app_label}.{entry.content_type.model}",
                entry.object_pk,
                entry.remote_addr or "",
                entry.changes_text or (entry.changes if entry.changes else ""),
            ]
        )
    return out.getvalue()
