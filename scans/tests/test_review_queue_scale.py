"""The queue at clinic scale: its sort keys live on the scan (kept by the services), so it pages and counts in
SQL; second opinions asked of the doctor come first; counts agree with the items; the backfill migration
computes the same keys as the services."""

import pytest
from django.apps import apps as django_apps
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scans.classification import scan_classification_enqueue
from scans.factories import ScanFactory
from scans.models import AiStatus, Scan, SecondOpinionRequest
from scans.review import review_decide
from scans.review_queue_keys import scan_review_queue_refresh
from scans.review_selectors import ReviewQueueList, review_queue, review_queue_counts
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db

_backfill = __import__("scans.migrations.0005_scan_review_queue", fromlist=["queue_keys_backfill"])
_renumber = __import__("scans.migrations.0007_prediction_deferral_refusal", fromlist=["queue_ranks_renumber"])


def test_keys_follow_readings_and_decisions(doctor):
    reading = waiting_reading(team_patient(doctor), label="DME", uncertainty=0.4)
    scan = Scan.objects.get(pk=reading.scan_id)
    assert (scan.review_pending, scan.queue_urgency, scan.queue_uncertainty) == (True, "urgent", 0.4)
    assert scan.queue_prediction_id == reading.pk and scan.queue_since == reading.created_at

    review_decide(scan=scan, reviewer=doctor, decision="approved")
    scan.refresh_from_db()
    assert scan.review_pending is False
    assert scan.queue_prediction_id == reading.pk  # kept: a second opinion still needs the reading
    assert review_queue(user=doctor) == []


def test_requeued_scan_leaves_the_queue_until_read_again(doctor):
    reading = waiting_reading(team_patient(doctor))
    scan = Scan.objects.get(pk=reading.scan_id)
    scan_classification_enqueue(scan=scan)
    assert Scan.objects.get(pk=scan.pk).review_pending is False
    assert review_queue(user=doctor) == []


def test_volume_is_placed_by_its_most_pressing_frame(doctor):
    reading = waiting_reading(team_patient(doctor), label="NORMAL", uncertainty=0.1)
    from scans.factories import PredictionFactory

    worst = PredictionFactory(scan=reading.scan, frame=3, label="CNV", uncertainty=0.6)
    [item] = review_queue(user=doctor)
    assert (item.prediction_id, item.urgency, item.label) == (worst.pk, "urgent", "CNV")


def test_pages_in_order_with_second_opinions_first(doctor, other_doctor):
    patient = team_patient(doctor, other_doctor)
    readings = [waiting_reading(patient, label="DRUSEN", uncertainty=i / 100) for i in range(7)]
    decided = waiting_reading(patient, label="NORMAL")
    review_decide(scan=decided.scan, reviewer=other_doctor, decision="approved")
    SecondOpinionRequest.objects.create(scan=decided.scan, requested_by=other_doctor, colleague=doctor)

    whole = review_queue(user=doctor)
    assert whole[0].scan.pk == decided.scan_id and whole[0].second_opinion
    assert [i.scan.pk for i in whole[1:]] == [r.scan_id for r in sorted(readings, key=lambda r: -r.uncertainty)]

    pages = Paginator(ReviewQueueList(user=doctor), 3)
    assert pages.count == 8 and pages.num_pages == 3
    paged = [item.scan.pk for n in pages.page_range for item in pages.page(n).object_list]
    assert paged == [item.scan.pk for item in whole]


def test_counts_agree_with_the_items(doctor, other_doctor, settings):
    settings.REVIEW_TARGET_HOURS = {"urgent": 24, "routine": 168, "observation": 720}
    patient = team_patient(doctor, other_doctor)
    waiting_reading(patient, label="CNV", hours_ago=30)  # overdue
    waiting_reading(patient, label="DME", hours_ago=2)
    waiting_reading(patient, label="DRUSEN", hours_ago=200)  # overdue
    waiting_reading(patient, label="NORMAL", hours_ago=100)
    asked = waiting_reading(patient, label="CNV", hours_ago=50)  # asked of the doctor, overdue
    review_decide(scan=asked.scan, reviewer=other_doctor, decision="approved")
    SecondOpinionRequest.objects.create(scan=asked.scan, requested_by=other_doctor, colleague=doctor)

    counts = review_queue_counts(user=doctor)
    items = review_queue(user=doctor)
    assert counts["total"] == len(items) == 5
    assert counts["by_urgency"] == {"urgent": 3, "deferred": 0, "routine": 1, "observation": 1, "unrecognised": 0}
    assert counts["second_opinions"] == 1
    overdue = [item.scan.pk for item in items if item.overdue]
    assert counts["overdue_count"] == 3
    assert [item.scan.pk for item in counts["overdue"]] == overdue


def test_overdue_list_is_capped_but_counted(doctor, monkeypatch):
    monkeypatch.setattr("scans.review_selectors.OVERDUE_LIST_LIMIT", 2)
    patient = team_patient(doctor)
    for _ in range(4):
        waiting_reading(patient, label="CNV", hours_ago=100)
    counts = review_queue_counts(user=doctor)
    assert counts["overdue_count"] == 4 and len(counts["overdue"]) == 2


def test_archived_patients_leave_the_queue(doctor):
    reading = waiting_reading(team_patient(doctor))
    reading.scan.patient.is_archived = True
    reading.scan.patient.save(update_fields=["is_archived"])
    assert review_queue(user=doctor) == [] and review_queue_counts(user=doctor)["total"] == 0


def test_queue_page_is_paginated(doctor_client, doctor, monkeypatch):
    monkeypatch.setattr("scans.review_views.QUEUE_PAGE_SIZE", 2)
    patient = team_patient(doctor)
    readings = [waiting_reading(patient, uncertainty=i / 10) for i in range(3)]
    first = doctor_client.get(reverse("scans:review_queue")).content.decode()
    second = doctor_client.get(reverse("scans:review_queue") + "?page=2").content.decode()
    assert first.count("data-queue-item=") == 2 and second.count("data-queue-item=") == 1
    assert "Page 1 of 2" in first and str(readings[0].scan.uuid) in second


def test_dashboard_counts_in_a_fixed_number_of_queries(doctor_client, doctor):
    patient = team_patient(doctor)
    waiting_reading(patient, hours_ago=100)
    with CaptureQueriesContext(connection) as few:
        assert doctor_client.get(reverse("home")).status_code == 200
    for i in range(8):
        waiting_reading(patient, label="DRUSEN", uncertainty=i / 10, hours_ago=500)
    with CaptureQueriesContext(connection) as many:
        page = doctor_client.get(reverse("home")).content.decode()
    assert len(many) == len(few)
    assert "data-queue-overdue>9<" in page


def test_backfill_migration_computes_the_services_keys(doctor):
    patient = team_patient(doctor)
    waiting_reading(patient, label="DME", uncertainty=0.3, hours_ago=5)
    decided = waiting_reading(patient, label="NORMAL")
    review_decide(scan=decided.scan, reviewer=doctor, decision="approved")
    fields = ["pk", "review_pending", "queue_prediction_id", "queue_urgency", "queue_urgency_rank", "queue_uncertainty"]
    kept = sorted(Scan.objects.values_list(*fields, "queue_since"))
    Scan.objects.update(
        review_pending=False, queue_prediction=None, queue_urgency="", queue_urgency_rank=None, queue_since=None
    )
    _backfill.queue_keys_backfill(django_apps, None)
    _renumber.queue_ranks_renumber(django_apps, None)  # a database migrated from before 0007 runs both
    assert sorted(Scan.objects.values_list(*fields, "queue_since")) == kept


def test_refresh_ignores_unclassified_scans(doctor):
    reading = waiting_reading(team_patient(doctor))
    Scan.objects.filter(pk=reading.scan_id).update(ai_status=AiStatus.FAILED)
    scan_review_queue_refresh(scan_id=reading.scan_id)
    assert Scan.objects.get(pk=reading.scan_id).review_pending is False


def test_bulk_refresh_matches_the_per_scan_refresh(doctor):
    from scans.review_queue_keys import scans_review_queue_refresh_all

    patient = team_patient(doctor)
    waiting_reading(patient, label="DRUSEN", uncertainty=0.3, hours_ago=5)
    decided = waiting_reading(patient, label="CNV")
    review_decide(scan=decided.scan, reviewer=doctor, decision="approved")
    unread = ScanFactory(patient=patient, ai_status=AiStatus.QUEUED)
    fields = ["pk", "review_pending", "queue_prediction_id", "queue_urgency", "queue_urgency_rank", "queue_uncertainty"]
    kept = sorted(Scan.objects.values_list(*fields, "queue_since"))
    Scan.objects.update(review_pending=True, queue_urgency="x", queue_urgency_rank=9, queue_since=None)
    assert scans_review_queue_refresh_all() == 3
    assert sorted(Scan.objects.values_list(*fields, "queue_since")) == kept
    assert Scan.objects.get(pk=unread.pk).queue_urgency_rank is None
