"""The scan list pages by cursor: every visible scan exactly once in either direction, ties in upload time
included, no total count (no COUNT over the archive), sync by ascending upload time, bad cursors a 400."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from octclinic.api_testing import error_of, persona_client
from patients.factories import PatientFactory
from scans.factories import ScanFactory
from scans.models import Scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive(patient):
    """Nine scans; three share one upload instant (a batch), so the cursor must page inside a tie."""
    base = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)
    instants = [base + dt.timedelta(minutes=m) for m in (0, 1, 2, 3, 3, 3, 4, 5, 6)]
    scans = [ScanFactory(patient=patient) for _ in instants]
    for scan, instant in zip(scans, instants, strict=True):
        Scan.objects.filter(pk=scan.pk).update(uploaded_at=instant)
    return sorted(Scan.objects.filter(patient=patient), key=lambda s: (s.uploaded_at, s.pk), reverse=True)


def _walk(client, url, link="next"):
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body
        seen.extend(row["uuid"] for row in body["results"])
        url, pages = body[link], pages + 1
        assert pages < 50, "the cursor does not advance"
    return seen, pages


def test_newest_first_every_scan_once_through_a_tie(archive):
    client = persona_client("technician")
    seen, pages = _walk(client, "/api/v1/scans/?page_size=2")
    assert seen == [str(s.uuid) for s in archive]
    assert pages == 5


def test_previous_links_walk_back_to_the_first_page(archive):
    client = persona_client("technician")
    url, last = "/api/v1/scans/?page_size=2", None
    while url:
        last = client.get(url).json()
        url = last["next"]
    back, _ = _walk(client, last["previous"], link="previous")
    assert sorted(back) == sorted(str(s.uuid) for s in archive[:-1])  # all but the last page's one
    assert len(back) == len(set(back))


def test_sync_oldest_first_from_a_time(archive):
    client = persona_client("technician")
    since = archive[-3].uploaded_at.isoformat()  # the three oldest instants are distinct
    seen, _ = _walk(
        client, f"/api/v1/scans/?ordering=uploaded_at&page_size=2&uploaded_at__gte={since.replace('+', '%2B')}"
    )
    expected = sorted(
        (s for s in archive if s.uploaded_at >= archive[-3].uploaded_at), key=lambda s: (s.uploaded_at, s.pk)
    )
    assert [str(s.uuid) for s in expected] == seen


def test_no_count_query_and_new_uploads_do_not_shift_a_walk(archive, patient):
    client = persona_client("technician")
    with CaptureQueriesContext(connection) as queries:
        first = client.get("/api/v1/scans/?page_size=4").json()
    assert not [q for q in queries if "COUNT(" in q["sql"].upper()]
    ScanFactory(patient=patient)  # arrives while the client is walking: it's newer, so not on later pages
    second = client.get(first["next"]).json()
    assert [row["uuid"] for row in second["results"]] == [str(s.uuid) for s in archive[4:8]]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "bz0xJnA9bm90LWEtZGF0ZQ==", "%00", "cD0yMDI2" * 40])
def test_a_bad_cursor_is_a_400_naming_it(archive, cursor):
    response = persona_client("technician").get("/api/v1/scans/", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in error_of(response)["fields"]


def test_only_visible_scans_are_paged(archive, patient):
    PatientFactory()  # a patient outside the doctor's care team, with a scan
    ScanFactory()
    doctor = persona_client("doctor")
    seen, _ = _walk(doctor, "/api/v1/scans/?page_size=3")
    assert seen == []  # the persona's doctor has no grant here; the fixture's patient is another doctor's
    technician = persona_client("technician")
    seen, _ = _walk(technician, "/api/v1/scans/?page_size=3")
    assert len(seen) == len(archive) + 1
