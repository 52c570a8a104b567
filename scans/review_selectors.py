"""Review reads: the doctor's queue, a scan's decisions and history, training labels, agreement statistics.

Every list takes the user and starts from ``scans.access.scans_visible_to``, so the queue, dashboards and
exports show only patients the user may see. Lists run a fixed number of queries whatever their length; the
queue pages and counts over the sort keys ``scans.review_queue_keys`` keeps on each scan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from patients.models import CareTeam, Patient

from .access import scan_rows_visible_to, scans_visible_to
from .models import DEFERRED, UNRECOGNISED, AiStatus, Prediction, Review, ReviewDecision, Scan, SecondOpinionRequest
from .review_queue_keys import QUEUE_CLASSES, most_pressing_predictions

DEFAULT_TARGET_HOURS = {"urgent": 24, "routine": 168, "observation": 720}
QUEUE_PAGE_SIZE = 50
QUEUE_COUNT_LIMIT = 10_000  # the staff page counts up to this many and then says "more than"
OVERDUE_LIST_LIMIT = 20


def review_target_hours() -> dict[str, float]:
    """How long a reading of each queue class may wait for a doctor (REVIEW_TARGET_HOURS overrides per urgency).

    A deferred reading gets the urgent target (the AI could not rule urgent disease out); an image not recognised
    as an OCT B-scan the routine one (someone must still look at what was uploaded).
    """
    targets = {**DEFAULT_TARGET_HOURS, **(getattr(settings, "REVIEW_TARGET_HOURS", None) or {})}
    targets.setdefault(DEFERRED, targets["urgent"])
    targets.setdefault(UNRECOGNISED, targets["routine"])
    return {name: targets[name] for name in QUEUE_CLASSES} | targets


def scan_prediction_for_review(*, scan: Scan) -> Prediction | None:
    """The reading a decision is about: of the newest model version's readings, the most pressing frame."""
    newest = scan.predictions.order_by("-created_at", "-pk").values("model_version_id")[:1]
    return (
        most_pressing_predictions(scan.pk)
        .filter(model_version_id=Subquery(newest))
        .select_related("model_version")
        .first()
    )


def second_opinion_colleagues(*, requested_by, scan: Scan | None = None) -> QuerySet:
    """Who may give a second opinion: active users with the doctors' review right (by role or given singly), not
    the doctor asking, and (for a scan) not someone who already read it or was already asked. The form's choices
    and the service's check are this one queryset."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    permission = Permission.objects.filter(content_type__app_label="scans", codename="review_scan")
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__permissions__in=permission) | Q(user_permissions__in=permission) | Q(is_superuser=True))
        .exclude(pk=getattr(requested_by, "pk", None))
    )
    if scan is not None:
        users = users.exclude(pk__in=Review.objects.filter(scan=scan).values("reviewer_id")).exclude(
            pk__in=SecondOpinionRequest.objects.filter(scan=scan).values("colleague_id")
        )
    # A subquery, not the joins above, for the caller: no duplicate rows, so ``.get`` and counts hold.
    return get_user_model().objects.filter(pk__in=users.values("pk")).order_by("last_name", "first_name", "username")


def second_opinion_may_give(*, colleague, requested_by, scan: Scan) -> bool:
    return second_opinion_colleagues(requested_by=requested_by, scan=scan).filter(pk=colleague.pk).exists()


def second_opinion_open_request(*, scan: Scan, user) -> SecondOpinionRequest | None:
    """The user's unanswered request on this scan: while it is open their reading is a second opinion."""
    if not getattr(user, "pk", None):
        return None
    return SecondOpinionRequest.objects.filter(scan=scan, colleague=user, review__isnull=True).first()


def scan_second_opinions(*, scan: Scan) -> list[SecondOpinionRequest]:
    """Every request on the scan, oldest first, with who asked, who was asked and the answer (one query)."""
    return list(
        SecondOpinionRequest.objects.filter(scan=scan)
        .select_related("requested_by", "colleague", "review")
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True)
class SecondOpinionState:
    """What the queue says about one request: ``asked`` (of the viewer), ``pending`` or ``answered``."""

    state: str
    colleague: str
    requested_by: str

    @property
    def text(self) -> str:
        if self.state == "asked":
            return f"second opinion asked of you by {self.requested_by}"
        if self.state == "pending":
            return f"second opinion pending from {self.colleague}"
        return f"second opinion given by {self.colleague}"


def _staff_name(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


@dataclass(frozen=True)
class QueueItem:
    scan: Scan
    prediction_id: int
    label: str
    urgency: str  # the queue class: an urgency, "deferred" or "unrecognised"
    uncertainty: float
    needs_careful_review: bool
    queued_at: dt.datetime
    waiting: dt.timedelta
    target_hours: float
    second_opinion: bool = False
    prediction: Prediction | None = None  # with its model_version, for what the queue says about the reading
    second_opinions: tuple[SecondOpinionState, ...] = ()
    now: dt.datetime | None = None

    @property
    def overdue(self) -> bool:
        return self.waiting > dt.timedelta(hours=self.target_hours)

    @property
    def patient_age(self) -> int | None:
        """Whole years today (the clinic's date), from the patient's birth date."""
        born = self.scan.patient.date_of_birth
        if born is None:
            return None
        today = timezone.localdate(self.now) if self.now else timezone.localdate()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def device(self) -> str:
        appointment = self.scan.appointment
        return appointment.resource.name if appointment is not None else ""

    @property
    def target_share(self) -> float:
        """Waiting time as a share of the target (1.0 = due now)."""
        return self.waiting_hours / self.target_hours if self.target_hours else 0.0

    @property
    def waiting_hours(self) -> float:
        return self.waiting.total_seconds() / 3600


QUEUE_ORDER = ("queue_urgency_rank", F("queue_uncertainty").desc(), "queue_since", "pk")
QUEUE_CLASS_NAMES = {
    "urgent": "Urgent",
    DEFERRED: "AI unsure",
    "routine": "Routine",
    "observation": "Observation",
    UNRECOGNISED: "Not recognised as OCT",
}
QUEUE_SCOPES = {"": "All my patients", "mine": "Mine (second opinions)", "teams": "My care teams"}


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters: a queue class (``urgency``), the device the scan was taken on (its appointment's
    resource), the scan date range, and the scope: ``mine`` = second opinions asked of the user and scans the
    user asked a colleague about; ``teams`` = patients of the user's care teams (leaves out single patients
    granted to them and, for clinic-wide access, the rest of the clinic). Values only, never patient data."""

    urgency: str = ""
    device: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    scope: str = ""

    @property
    def active(self) -> bool:
        return bool(self.urgency or self.device or self.since or self.until or self.scope)


NO_FILTERS = QueueFilters()


def _filtered(scans: QuerySet[Scan], *, user, filters: QueueFilters) -> QuerySet[Scan]:
    if filters.urgency in QUEUE_CLASSES:
        scans = scans.filter(queue_urgency_rank=QUEUE_CLASSES.index(filters.urgency))
    if filters.device:
        scans = scans.filter(appointment__resource_id=filters.device)
    if filters.since:
        scans = scans.filter(acquired_on__gte=filters.since)
    if filters.until:
        scans = scans.filter(acquired_on__lte=filters.until)
    if filters.scope == "teams":
        scans = scans.filter(patient__care_team__in=CareTeam.objects.filter(members=user).values("pk"))
    return scans


def _reviewable(user) -> QuerySet[Scan]:
    # "not one of the (few) archived patients" rather than a join on every patient: the queue counts then come
    # from the partial index alone.
    archived = Patient.objects.filter(is_archived=True).values("pk")
    return scans_visible_to(user, action="review").exclude(patient__in=archived)


def _waiting(user, filters: QueueFilters = NO_FILTERS) -> QuerySet[Scan]:
    """Scans without a decision of record, in queue order (served by ``scan_review_queue_idx``). Scans the user
    was asked about are not theirs to decide: the open requests come first (``_asked``), the answered ones wait
    for the responsible doctor only."""
    asked_of_user = SecondOpinionRequest.objects.filter(colleague=user).values("scan_id")
    scans = _reviewable(user).filter(review_pending=True).exclude(pk__in=asked_of_user)
    if filters.scope == "mine":
        scans = scans.filter(pk__in=SecondOpinionRequest.objects.filter(requested_by=user).values("scan_id"))
    return _filtered(scans, user=user, filters=filters).order_by(*QUEUE_ORDER)


def _asked(user, filters: QueueFilters = NO_FILTERS) -> QuerySet[Scan]:
    """Classified scans whose second opinion was asked of this user and not yet given (a handful)."""
    asked = SecondOpinionRequest.objects.filter(colleague=user, review__isnull=True).values("scan_id")
    scans = _reviewable(user).filter(pk__in=asked, ai_status=AiStatus.CLASSIFIED, queue_prediction__isnull=False)
    return _filtered(scans, user=user, filters=filters).order_by(*QUEUE_ORDER)


def _items(scans, *, now: dt.datetime, second_opinion: bool) -> list[QueueItem]:
    targets = review_target_hours()
    return [
        QueueItem(
            scan=scan,
            prediction_id=scan.queue_prediction_id,
            label=scan.queue_prediction.label,
            urgency=scan.queue_urgency,
            uncertainty=scan.queue_uncertainty,
            needs_careful_review=scan.queue_prediction.needs_careful_review,
            queued_at=scan.queue_since,
            waiting=now - scan.queue_since,
            target_hours=float(targets.get(scan.queue_urgency, targets["routine"])),
            second_opinion=second_opinion,
            prediction=scan.queue_prediction,
            now=now,
        )
        for scan in scans.select_related("patient", "queue_prediction__model_version", "appointment__resource")
    ]


def _with_second_opinions(items: list[QueueItem], *, user) -> list[QueueItem]:
    """Each item with the state of its second-opinion requests (one query for the page)."""
    if not items:
        return items
    by_scan: dict[int, list[SecondOpinionState]] = {}
    requests = (
        SecondOpinionRequest.objects.filter(scan_id__in=[item.scan.pk for item in items])
        .select_related("requested_by", "colleague")
        .order_by("created_at", "pk")
    )
    for request in requests:
        if request.review_id is not None:
            state = "answered"
        elif request.colleague_id == user.pk:
            state = "asked"
        else:
            state = "pending"
        by_scan.setdefault(request.scan_id, []).append(
            SecondOpinionState(
                state=state, colleague=_staff_name(request.colleague), requested_by=_staff_name(request.requested_by)
            )
        )
    return [replace(item, second_opinions=tuple(by_scan.get(item.scan.pk, ()))) for item in items]


def review_queue(
    *,
    user,
    now: dt.datetime | None = None,
    offset: int = 0,
    limit: int | None = None,
    filters: QueueFilters = NO_FILTERS,
) -> list[QueueItem]:
    """Unreviewed readings the user may decide, second opinions asked of them first: urgency (a deferred reading
    right after the urgent ones, an image not recognised as OCT last), then uncertainty (least certain first), then
    longest waiting. ``offset``/``limit`` page it in SQL; three queries (asked, waiting, their second-opinion
    requests), and at most one more for the readings' model provenance (``item.prediction.provenance``)."""
    from .selectors import predictions_with_provenance

    now = now or timezone.now()
    asked = _items(_asked(user, filters), now=now, second_opinion=True)
    items = asked[offset : None if limit is None else offset + limit]
    rest_offset = max(0, offset - len(asked))
    rest_limit = None if limit is None else limit - len(items)
    if rest_limit != 0:
        waiting = _waiting(user, filters)
        waiting = waiting[rest_offset:] if rest_limit is None else waiting[rest_offset : rest_offset + rest_limit]
        items = items + _items(waiting, now=now, second_opinion=False)
    predictions_with_provenance(item.prediction for item in items)
    return _with_second_opinions(items, user=user)


class ReviewQueueList:
    """The queue as a countable, sliceable sequence, so Django's ``Paginator`` (and DRF's page-number pagination)
    page it in SQL: ``count()`` is one COUNT, a page one LIMIT/OFFSET query."""

    def __init__(
        self,
        *,
        user,
        now: dt.datetime | None = None,
        filters: QueueFilters = NO_FILTERS,
        count_limit: int | None = None,
    ):
        self.user = user
        self.now = now or timezone.now()
        self.filters = filters
        self.count_limit = count_limit
        self.count_capped = False

    def count(self) -> int:
        """The exact count, or with ``count_limit`` at most ``count_limit`` (``count_capped`` says when there are
        more): counting every one of 100,000 waiting scans costs about 11 ms of PostgreSQL per page (bench_load's
        stress case), and nobody pages that far; the page says "more than N"."""
        asked = _asked(self.user, self.filters).count()
        waiting = _waiting(self.user, self.filters).order_by()
        if self.count_limit is None:
            return asked + waiting.count()
        rest = waiting[: self.count_limit + 1].count()
        self.count_capped = asked + rest > self.count_limit
        return min(asked + rest, self.count_limit)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("The review queue is read a page (a slice) at a time.")
        start = key.start or 0
        limit = None if key.stop is None else max(0, key.stop - start)
        return review_queue(user=self.user, now=self.now, offset=start, limit=limit, filters=self.filters)


def review_queue_next(*, user, after: Scan | None = None) -> Scan | None:
    """The next scan to open after deciding ``after`` (the queue's head once that one has left it)."""
    for item in review_queue(user=user, limit=2):
        if after is None or item.scan.pk != after.pk:
            return item.scan
    return None


def review_queue_counts(*, user, now: dt.datetime | None = None) -> dict:
    """Doctor dashboard figures: waiting per urgency, overdue ones (counted in SQL; the most pressing listed),
    second opinions asked of the user."""
    now = now or timezone.now()
    targets = review_target_hours()
    asked = _items(_asked(user), now=now, second_opinion=True)
    waiting = _waiting(user)
    # Filters on the rank (not the urgency text) so that PostgreSQL counts from scan_review_queue_idx alone.
    overdue_q = Q()
    for rank, name in enumerate(QUEUE_CLASSES):
        hours = float(targets.get(name, targets["routine"]))
        overdue_q |= Q(queue_urgency_rank=rank, queue_since__lt=now - dt.timedelta(hours=hours))
    figures = waiting.order_by().aggregate(
        total=Count("pk"),
        overdue=Count("pk", filter=overdue_q),
        **{name: Count("pk", filter=Q(queue_urgency_rank=rank)) for rank, name in enumerate(QUEUE_CLASSES)},
    )
    by_urgency = {name: figures[name] for name in QUEUE_CLASSES}
    for item in asked:
        by_urgency[item.urgency] = by_urgency.get(item.urgency, 0) + 1
    asked_overdue = [item for item in asked if item.overdue]
    overdue_list = asked_overdue + _items(
        waiting.filter(overdue_q)[: max(0, OVERDUE_LIST_LIMIT - len(asked_overdue))], now=now, second_opinion=False
    )
    return {
        "total": figures["total"] + len(asked),
        "by_urgency": by_urgency,
        "overdue": overdue_list,
        "overdue_count": figures["overdue"] + len(asked_overdue),
        "second_opinions": len(asked),
    }


def scan_reviews(*, scan: Scan) -> list[Review]:
    """The decision of record first, then second opinions; ``disagrees`` marks a reading that differs from the
    decision of record (or, before there is one, from another doctor's opinion); ``differs_from_ai`` one that
    differs from the AI's suggestion."""
    reviews = sorted(
        Review.objects.filter(scan=scan).select_related("reviewer", "model_version"),
        key=lambda r: (r.is_second_opinion, r.created_at),
    )
    primary = next((r for r in reviews if not r.is_second_opinion), None)
    readings = {(r.decision, r.label) for r in reviews}
    for review in reviews:
        if primary is not None:
            review.disagrees = review.is_second_opinion and (review.decision, review.label) != (
                primary.decision,
                primary.label,
            )
        else:
            review.disagrees = len(readings) > 1
        review.differs_from_ai = review.agrees_with_ai is False
    return reviews


def reviews_disagree(reviews: list[Review]) -> bool:
    return any(getattr(review, "disagrees", False) for review in reviews)


@dataclass(frozen=True)
class Reader:
    """One line of the disagreements list: who read the scan (the AI, the decision of record, a second
    opinion) and what they said."""

    who: str
    role: str  # "ai", "decision", "second_opinion"
    reading: str


def reading_disagreements(*, reviews: list[Review], prediction: Prediction | None) -> list[Reader]:
    """Every reader of the scan when they do not all say the same (the AI counts where it suggested a label);
    empty when they agree or only one has read it."""
    readers: list[Reader] = []
    if prediction is not None and prediction.suggests:
        readers.append(Reader(who="AI", role="ai", reading=prediction.label))
    for review in reviews:
        readers.append(
            Reader(
                who=review.reviewer.get_full_name() or review.reviewer.username,
                role="second_opinion" if review.is_second_opinion else "decision",
                reading=review.label or review.get_decision_display(),
            )
        )
    return readers if len({r.reading for r in readers}) > 1 else []


def scan_eye_history(*, scan: Scan) -> list[Scan]:
    """The patient's other scans of the same eye, each with its decision (``primary_reviews``), two queries."""
    return list(
        Scan.objects.filter(patient_id=scan.patient_id, eye=scan.eye)
        .exclude(pk=scan.pk)
        .order_by("-acquired_on", "-uploaded_at", "-pk")
        .prefetch_related(
            Prefetch(
                "reviews",
                queryset=Review.objects.filter(is_second_opinion=False).select_related("reviewer"),
                to_attr="primary_reviews",
            )
        )
    )


def scans_with_decision(scans: QuerySet[Scan]) -> QuerySet[Scan]:
    """Annotate each scan with its decision of record (``decision_code``, ``decision_label`` and
    ``decision_ai_suggested``: whether the AI offered a label to decide on) in the same query, so the gallery and
    the timeline stay one query however many scans."""
    primary = Review.objects.filter(scan=OuterRef("pk"), is_second_opinion=False)
    suggested = ExpressionWrapper(Q(ai_recognised=True, ai_deferred=False), output_field=BooleanField())
    return scans.annotate(
        decision_code=Subquery(primary.values("decision")[:1]),
        decision_label=Subquery(primary.values("label")[:1]),
        decision_ai_suggested=Subquery(primary.annotate(suggested=suggested).values("suggested")[:1]),
    )


def decision_text(scan: Scan) -> str:
    """'Corrected DME', 'Approved CNV', 'Labelled DME', 'Ungradable (image quality)' or '' for an annotated scan.

    A label chosen where the AI suggested nothing (deferred, or not recognised as OCT) is stored as a correction
    but corrected nothing: it reads "Labelled", as ``Review.decision_display`` says on the review pages.
    """
    code = getattr(scan, "decision_code", None)
    if not code:
        return ""
    label = getattr(scan, "decision_label", "") or ""
    suggested = getattr(scan, "decision_ai_suggested", True)
    if code == ReviewDecision.CORRECTED and suggested is not None and not suggested:
        return f"Labelled {label}".strip()
    return f"{ReviewDecision(code).label} {label}".strip()


def reviewed_training_labels() -> QuerySet[Review]:
    """Approved and corrected decisions of record: the clinic's training labels, with reviewer and time."""
    return (
        Review.objects.filter(is_second_opinion=False, decision__in=[ReviewDecision.APPROVED, ReviewDecision.CORRECTED])
        .select_related("scan", "prediction", "reviewer")
        .order_by("created_at", "pk")
    )


def reviews_recent(*, user, limit: int = 10) -> list[Review]:
    return list(
        Review.objects.filter(reviewer=user)
        .select_related("scan", "model_version")
        .order_by("-created_at", "-pk")[:limit]
    )


def reviews_for_export(*, user) -> QuerySet[Review]:
    """Decisions the user may export: their visible patients only."""
    return (
        scan_rows_visible_to(Review.objects.all(), user, action="export")
        .select_related("scan", "scan__patient", "model_version", "reviewer", "prediction")
        .order_by("created_at", "pk")
    )


def review_disagreements(*, user) -> QuerySet[Scan]:
    """Scans with a second opinion whose readers do not all agree — the second opinion against the decision of record
    or the AI's suggestion, or the decision of record against the AI — newest opinion first, of the user's
    reviewable patients. A queryset (it pages and counts in SQL); ``scans_with_readers`` fills a page."""
    record = Review.objects.filter(scan=OuterRef("scan_id"), is_second_opinion=False)
    suggested = Q(ai_recognised=True, ai_deferred=False) & ~Q(ai_label="")
    opinions = (
        Review.objects.filter(is_second_opinion=True)
        .annotate(
            record_decision=Subquery(record.values("decision")[:1]),
            record_label=Subquery(record.values("label")[:1]),
        )
        .filter(
            (Q(record_decision__isnull=False) & (~Q(record_decision=F("decision")) | ~Q(record_label=F("label"))))
            | (suggested & ~Q(label=F("ai_label")))
            | (suggested & Q(record_label__isnull=False) & ~Q(record_label=F("ai_label")))
        )
    )
    latest = opinions.filter(scan=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    return (
        _reviewable(user)
        .filter(pk__in=opinions.values("scan_id"))
        .annotate(latest_opinion=Subquery(latest))
        .order_by("-latest_opinion", "-pk")
    )


def scans_with_readers(scans) -> list[Scan]:
    """A page of scans, each with ``readers`` (the disagreements list: AI, decision of record, second opinions) —
    two queries for the page."""
    scans = list(scans)
    by_scan: dict[int, list[Review]] = {}
    reviews = Review.objects.filter(scan__in=[s.pk for s in scans]).select_related("reviewer")
    for review in sorted(reviews, key=lambda r: (r.is_second_opinion, r.created_at)):
        by_scan.setdefault(review.scan_id, []).append(review)
    for scan in scans:
        rows = by_scan.get(scan.pk, [])
        first = rows[0] if rows else None
        readers = []
        if first is not None and first.ai_suggested and first.ai_label:
            readers.append(Reader(who="AI", role="ai", reading=first.ai_label))
        for review in rows:
            readers.append(
                Reader(
                    who=review.reviewer.get_full_name() or review.reviewer.username,
                    role="second_opinion" if review.is_second_opinion else "decision",
                    reading=review.label or review.get_decision_display(),
                )
            )
        scan.readers = readers
    return scans
