"""Second opinions are opinions, not the decision of record (issue #17, part 1).

Doctor A asks doctor B before deciding. B's answer is stored as a second opinion (label, note, who, when) and
answers the request; A stays the responsible reader: A's page shows "pending from B", then B's opinion beside the
AI's, and A makes the decision of record. The page, the API and the admin all go through ``review_decide``, so the
rule is the same everywhere; a second opinion never becomes a training label on its own.
"""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from octclinic.api_testing import token_client
from octclinic.factories import DoctorFactory, TechnicianFactory
from scans.models import Review, Scan, SecondOpinionRequest
from scans.review import review_decide, review_second_opinion_request
from scans.review_forms import SecondOpinionForm
from scans.review_selectors import review_queue, reviewed_training_labels
from scans.tests.review_helpers import team_patient, waiting_reading
from scans.training_source import approved_scan_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def doctor_b(db):
    return DoctorFactory(first_name="Bea", last_name="Berger")


@pytest.fixture
def asked(doctor, doctor_b):
    """A (``doctor``, of the care team) asked B (outside the team) about a CNV reading before deciding."""
    doctor.first_name, doctor.last_name = "Anna", "Albers"
    doctor.save()
    reading = waiting_reading(team_patient(doctor), label="CNV")
    review_second_opinion_request(scan=reading.scan, requested_by=doctor, colleague=doctor_b, note="fluid?")
    return reading


def page(client, reading) -> str:
    return client.get(reverse("scans:review", args=[reading.scan.uuid])).content.decode()


def test_the_answer_is_a_second_opinion_and_a_keeps_the_decision(client, doctor, doctor_b, asked):
    client.force_login(doctor_b)
    b_page = page(client, asked)
    assert "Your second opinion" in b_page and 'data-form-kind="second_opinion"' in b_page
    assert "Anna Albers makes the decision of record" in b_page
    response = client.post(
        reverse("scans:review_decide", args=[asked.scan.uuid]),
        {"decision": "corrected", "label": "DME", "note": "looks like DME to me"},
    )
    assert response.status_code == 302

    opinion = Review.objects.get(scan=asked.scan)
    assert opinion.is_second_opinion and (opinion.reviewer, opinion.label) == (doctor_b, "DME")
    request = SecondOpinionRequest.objects.get(scan=asked.scan)
    assert request.review == opinion and request.answered_at is not None
    # Still waiting for its decision of record, in A's queue (and no longer in B's).
    assert Scan.objects.get(pk=asked.scan_id).review_pending
    assert [item.scan.pk for item in review_queue(user=doctor)] == [asked.scan_id]
    assert review_queue(user=doctor_b) == []

    client.force_login(doctor)
    a_page = page(client, asked)
    assert 'data-form-kind="decision"' in a_page and "data-review-approve" in a_page
    answered = a_page[a_page.index("data-second-opinions") :]
    assert "Second opinion from Bea Berger" in answered and "Corrected DME" in answered
    assert "looks like DME to me" in answered and "data-no-decision" in a_page

    review_decide(scan=asked.scan, reviewer=doctor, decision="approved", note="CNV, treat")
    record = Review.objects.get(scan=asked.scan, is_second_opinion=False)
    assert (record.reviewer, record.label) == (doctor, "CNV")
    assert not Scan.objects.get(pk=asked.scan_id).review_pending
    assert list(reviewed_training_labels()) == [record]


def test_a_sees_the_pending_state_on_the_page_and_in_the_queue(doctor_client, asked):
    a_page = page(doctor_client, asked)
    assert "Second opinion pending from Bea Berger" in a_page and 'data-second-opinion="pending"' in a_page
    assert "data-review-approve" in a_page  # A may still decide (or wait)
    assert "data-second-opinion-ask" in a_page  # and ask someone else too
    queue = doctor_client.get(reverse("scans:review_queue")).content.decode()
    assert "second opinion pending from Bea Berger" in queue


def test_b_cannot_ask_on_or_make_the_decision_of_record(client, doctor_b, asked, other_doctor):
    client.force_login(doctor_b)
    b_page = page(client, asked)
    assert "data-second-opinion-form" not in b_page
    with pytest.raises(ValidationError, match="give it rather than ask on"):
        review_second_opinion_request(scan=asked.scan, requested_by=doctor_b, colleague=other_doctor)
    review_decide(scan=asked.scan, reviewer=doctor_b, decision="approved")
    with pytest.raises(ValidationError, match="already reviewed"):
        review_decide(scan=asked.scan, reviewer=doctor_b, decision="ungradable")
    assert not Review.objects.filter(scan=asked.scan, is_second_opinion=False).exists()


def test_an_opinion_after_the_decision_is_still_an_opinion(doctor, doctor_b, asked):
    review_decide(scan=asked.scan, reviewer=doctor, decision="approved")
    opinion = review_decide(scan=asked.scan, reviewer=doctor_b, decision="corrected", label="DRUSEN")
    assert opinion.is_second_opinion
    assert Review.objects.get(scan=asked.scan, is_second_opinion=False).reviewer == doctor


def test_a_second_opinion_alone_is_no_training_label(doctor_b, asked):
    review_decide(scan=asked.scan, reviewer=doctor_b, decision="approved")
    assert not reviewed_training_labels().exists()
    assert list(approved_scan_items()) == []


def test_disagreement_of_a_b_and_the_ai_is_listed(doctor_client, doctor, doctor_b, asked):
    review_decide(scan=asked.scan, reviewer=doctor_b, decision="corrected", label="DME")
    review_decide(scan=asked.scan, reviewer=doctor, decision="corrected", label="DRUSEN")
    a_page = page(doctor_client, asked)
    listed = a_page[a_page.index("data-disagreements") :]
    assert 'data-reader="ai"' in listed and "AI suggestion: <strong>CNV</strong>" in listed
    assert "Anna Albers (decision of record): <strong>DRUSEN</strong>" in listed
    assert "Bea Berger (second opinion): <strong>DME</strong>" in listed
    assert "The doctors disagree" in a_page


def test_the_api_follows_the_same_rule(doctor, doctor_b, asked):
    url = "/api/v1/reviews/"
    b = token_client(doctor_b).post(url, {"scan": str(asked.scan.uuid), "decision": "approved"}, format="json")
    assert b.status_code == 201 and b.json()["is_second_opinion"] is True
    queue = token_client(doctor).get(url + "queue/").json()
    [item] = queue["results"]
    assert item["second_opinions"] == [{"state": "answered", "colleague": "Bea Berger", "requested_by": "Anna Albers"}]
    a = token_client(doctor).post(
        url, {"scan": str(asked.scan.uuid), "decision": "corrected", "label": "DME"}, format="json"
    )
    assert a.status_code == 201 and a.json()["is_second_opinion"] is False


def test_the_admin_follows_the_same_rule(client, doctor_b, asked):
    client.force_login(doctor_b)
    response = client.post(reverse("admin:scans_prediction_review", args=[asked.pk]), {"decision": "approved"})
    assert response.status_code == 302
    assert Review.objects.get(scan=asked.scan).is_second_opinion
    assert Scan.objects.get(pk=asked.scan_id).review_pending


def test_who_may_be_asked_is_one_rule_for_form_and_service(doctor, doctor_b, other_doctor):
    reading = waiting_reading(team_patient(doctor, other_doctor), label="CNV")
    technician = TechnicianFactory()
    review_decide(scan=reading.scan, reviewer=other_doctor, decision="approved")
    choices = set(SecondOpinionForm(requested_by=doctor, scan=reading.scan).fields["colleague"].queryset)
    assert doctor_b in choices
    assert doctor not in choices and technician not in choices and other_doctor not in choices
    for colleague in (technician, other_doctor, doctor):
        with pytest.raises(ValidationError):
            review_second_opinion_request(scan=reading.scan, requested_by=doctor, colleague=colleague)
    doctor_b.is_active = False
    doctor_b.save()
    assert doctor_b not in set(SecondOpinionForm(requested_by=doctor, scan=reading.scan).fields["colleague"].queryset)


def test_requests_and_answers_are_audited(doctor, doctor_b, asked):
    opinion = review_decide(scan=asked.scan, reviewer=doctor_b, decision="corrected", label="DME")
    request = SecondOpinionRequest.objects.get(scan=asked.scan)
    logged = {(e.content_type.model, e.object_pk) for e in LogEntry.objects.select_related("content_type")}
    assert ("review", str(opinion.pk)) in logged and ("secondopinionrequest", str(request.pk)) in logged


def test_a_colleague_is_asked_once_and_the_admin_page_says_it_is_an_opinion(client, doctor, doctor_b, asked):
    assert doctor_b not in set(SecondOpinionForm(requested_by=doctor, scan=asked.scan).fields["colleague"].queryset)
    with pytest.raises(ValidationError, match="already been asked"):
        review_second_opinion_request(scan=asked.scan, requested_by=doctor, colleague=doctor_b)
    client.force_login(doctor_b)
    page = client.get(reverse("admin:scans_prediction_review", args=[asked.pk])).content.decode()
    assert "data-admin-second-opinion" in page and "Anna Albers asked you for a <strong>second opinion</strong>" in page


def test_the_disagreements_list_names_a_b_and_the_ai(doctor_client, doctor, doctor_b, asked):
    agreeing = waiting_reading(asked.scan.patient, label="DME")
    review_second_opinion_request(scan=agreeing.scan, requested_by=doctor, colleague=doctor_b)
    review_decide(scan=agreeing.scan, reviewer=doctor_b, decision="approved")  # B agrees with the AI: not listed
    url = reverse("scans:review_disagreements")
    assert "data-disagreements-empty" in doctor_client.get(url).content.decode()
    review_decide(scan=asked.scan, reviewer=doctor_b, decision="corrected", label="DME")
    page = doctor_client.get(url).content.decode()
    assert f'data-disagreement-scan="{asked.scan.uuid}"' in page and str(agreeing.scan.uuid) not in page
    assert "Bea Berger (second opinion): <strong>DME</strong>" in page
    review_decide(scan=asked.scan, reviewer=doctor, decision="approved")
    page = doctor_client.get(url).content.decode()
    assert "AI suggestion: <strong>CNV</strong>" in page
    assert "Anna Albers (decision of record): <strong>CNV</strong>" in page
    outsider = DoctorFactory()
    from django.test import Client

    other = Client()
    other.force_login(outsider)
    assert str(asked.scan.uuid) not in other.get(url).content.decode()  # not their patient


def test_migration_restores_second_opinions_stored_as_the_decision(doctor, doctor_b, asked):
    from django.apps import apps as django_apps

    from scans.factories import ReviewFactory

    restore = __import__("scans.migrations.0011_second_opinion_not_record", fromlist=["x"]).second_opinions_restore
    # What the old service wrote: B's answer as the decision of record, the scan out of the queue.
    wrong = ReviewFactory(prediction=asked, reviewer=doctor_b, decision="corrected", label="DME")
    SecondOpinionRequest.objects.filter(scan=asked.scan).update(review=wrong)
    assert not Scan.objects.get(pk=asked.scan_id).review_pending
    restore(django_apps, None)
    wrong.refresh_from_db()
    assert wrong.is_second_opinion and Scan.objects.get(pk=asked.scan_id).review_pending
    assert [item.scan.pk for item in review_queue(user=doctor)] == [asked.scan_id]
    restore(django_apps, None)  # idempotent
    assert Review.objects.get(pk=wrong.pk).is_second_opinion
