"""Scans made the way production makes them: through scan_upload, with real files in storage."""

from __future__ import annotations

import io

import factory
import numpy as np
from factory.django import DjangoModelFactory
from PIL import Image

from mlcore.labels import CLASSES, URGENCY_BY_LABEL
from mlcore.models import ModelVersion
from patients.eyes import Eye
from patients.factories import PatientFactory

from .models import UNRECOGNISED, AiStatus, Prediction, Review, ReviewDecision, Scan
from .review_queue_keys import scan_review_queue_refresh
from .services import scan_upload


def sample_png(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small grayscale PNG, different for each seed (so duplicates are only made on purpose)."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, size=(size[1], size[0]), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


class ScanFactory(DjangoModelFactory):
    class Meta:
        model = Scan

    patient = factory.SubFactory(PatientFactory)
    eye = Eye.OD
    acquired_on = factory.Faker("date_between", start_date="-2y", end_date="today")
    data = factory.Sequence(lambda n: sample_png(10_000 + n))
    file_name = factory.Sequence(lambda n: f"scan-{n}.png")
    uploaded_by = None
    appointment = None

    @classmethod
    def _create(cls, model_class, *, patient, eye, acquired_on, data, file_name, uploaded_by, appointment, **extra):
        scan = scan_upload(
            patient=patient,
            eye=eye,
            acquired_on=acquired_on,
            file_name=file_name,
            data=data,
            uploaded_by=uploaded_by,
            appointment=appointment,
            confirm_identity_mismatch=True,
        )
        if extra:
            for key, value in extra.items():
                setattr(scan, key, value)
            scan.save(update_fields=list(extra))
        return scan


class ModelVersionRowFactory(DjangoModelFactory):
    """A registry row without an artifact: enough for readings that are stored, never computed, in tests."""

    class Meta:
        model = ModelVersion
        django_get_or_create = ("version",)

    version = factory.Sequence(lambda n: f"test-{n}")
    status = ModelVersion.Status.DEPLOYED
    artifact_path = factory.LazyAttribute(lambda o: f"models/{o.version}.keras")


class PredictionFactory(DjangoModelFactory):
    """A stored AI reading of a classified scan (probabilities consistent with label and confidence)."""

    class Meta:
        model = Prediction
        skip_postgeneration_save = True

    scan = factory.SubFactory(ScanFactory, ai_status=AiStatus.CLASSIFIED)
    model_version = factory.LazyFunction(lambda: ModelVersionRowFactory(version="test-deployed"))
    frame = 0
    label = "CNV"
    confidence = 0.9
    uncertainty = 0.2
    deferred = False
    recognised = True
    refusal_reason = ""
    urgency = factory.LazyAttribute(lambda o: URGENCY_BY_LABEL[o.label].value if o.recognised else UNRECOGNISED)
    probabilities = factory.LazyAttribute(
        lambda o: {c: (o.confidence if c == o.label else (1 - o.confidence) / (len(CLASSES) - 1)) for c in CLASSES}
    )
    needs_careful_review = False
    model_ms = 12.5
    input_sha256 = factory.Sequence(lambda n: f"{n:064x}")

    @factory.post_generation
    def queue_keys(obj, create, extracted, **kwargs):
        """Readings written directly still leave the scan's queue keys as the classification service would."""
        if create:
            scan_review_queue_refresh(scan_id=obj.scan_id)


class ReviewFactory(DjangoModelFactory):
    """A decision of record, written directly (tests of the review service go through review_decide)."""

    class Meta:
        model = Review
        skip_postgeneration_save = True

    prediction = factory.SubFactory(PredictionFactory)
    scan = factory.LazyAttribute(lambda o: o.prediction.scan)
    model_version = factory.LazyAttribute(lambda o: o.prediction.model_version)
    ai_label = factory.LazyAttribute(lambda o: o.prediction.label)
    ai_urgency = factory.LazyAttribute(lambda o: o.prediction.urgency)
    ai_deferred = factory.LazyAttribute(lambda o: o.prediction.deferred)
    ai_recognised = factory.LazyAttribute(lambda o: o.prediction.recognised)
    decision = ReviewDecision.APPROVED
    label = factory.LazyAttribute(lambda o: o.ai_label if o.decision == ReviewDecision.APPROVED else "")
    reviewer = None
    queued_at = factory.LazyAttribute(lambda o: o.prediction.created_at)

    @factory.post_generation
    def queue_keys(obj, create, extracted, **kwargs):
        """A decision written directly takes the scan out of the queue, as ``review_decide`` does."""
        if create:
            scan_review_queue_refresh(scan_id=obj.scan_id)
