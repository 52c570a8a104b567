"""The staff queue page counts its waiting scans up to a limit and then says "more than": an exact count of 100,000
waiting scans cost ~11 ms of PostgreSQL on every page (bench/bench_load.py --reviewed 0). The API keeps its exact
count (clients may rely on it)."""

import pytest
from django.urls import reverse

from scans import review_views
from scans.review_selectors import ReviewQueueList
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_waiting(doctor):
    patient = team_patient(doctor)
    return [waiting_reading(patient, uncertainty=i / 10) for i in range(5)]


def test_the_count_stops_at_the_limit_and_says_so(doctor, five_waiting):
    capped = ReviewQueueList(user=doctor, count_limit=3)
    assert (capped.count(), capped.count_capped) == (3, True)
    exact = ReviewQueueList(user=doctor, count_limit=5)
    assert (exact.count(), exact.count_capped) == (5, False)
    assert ReviewQueueList(user=doctor).count() == 5


def test_the_page_says_more_than_and_still_pages(doctor_client, five_waiting, monkeypatch):
    monkeypatch.setattr(review_views, "QUEUE_COUNT_LIMIT", 3)
    monkeypatch.setattr(review_views, "QUEUE_PAGE_SIZE", 2)
    page = doctor_client.get(reverse("scans:review_queue")).content.decode()
    assert "More than 3 waiting" in page and "Page 1 of more than 2" in page
    assert page.count("data-queue-item=") == 2
    # Pages reach as far as the count does (the limit, 10,000 in use): the last one holds the third scan.
    second = doctor_client.get(reverse("scans:review_queue") + "?page=2").content.decode()
    assert second.count("data-queue-item=") == 1

    monkeypatch.setattr(review_views, "QUEUE_COUNT_LIMIT", 10)
    page = doctor_client.get(reverse("scans:review_queue")).content.decode()
    assert "5 waiting" in page and "More than" not in page and "more than" not in page


def test_the_api_count_stays_exact(doctor, five_waiting, monkeypatch):
    from octclinic.api_testing import token_client

    monkeypatch.setattr(review_views, "QUEUE_COUNT_LIMIT", 3)
    body = token_client(doctor).get("/api/v1/reviews/queue/").json()
    assert body["count"] == 5
