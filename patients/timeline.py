"""The patient timeline, assembled from whatever apps know about the patient.

Dependencies point one way (scheduling -> patients, scans -> patients), so patients cannot import
them. Instead each app registers a *source* in its ``AppConfig.ready``; the detail page merges what
the sources return, newest first. A source must run a fixed number of queries per call whatever the
patient's history length (the timeline is checked for N+1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .models import Patient


@dataclass(frozen=True)
class TimelineEntry:
    when: dt.datetime  # aware
    kind: str  # "appointment", "reschedule", "scan", "diagnosis", ...
    title: str
    url: str = ""
    detail: str = ""
    status: str = ""
    eye: str = ""  # "OD" / "OS" where the entry is about one eye
    extra: dict = field(default_factory=dict)


TimelineSource = Callable[[Patient], Iterable[TimelineEntry]]
_sources: dict[str, TimelineSource] = {}


def timeline_source_register(*, name: str, source: TimelineSource) -> None:
    _sources[name] = source


def patient_timeline(*, patient: Patient) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for source in _sources.values():
        entries.extend(source(patient))
    return sorted(entries, key=lambda e: e.when, reverse=True)
