"""Scans made the way production makes them: through scan_upload, with real files in storage."""

from __future__ import annotations

import io

import factory
import numpy as np
from factory.django import DjangoModelFactory
from PIL import Image

from patients.eyes import Eye
from patients.factories import PatientFactory

from .models import Scan
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
