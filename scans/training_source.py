"""The scans app's contribution to model training, registered with ``mlcore.training_sources``.

mlcore never imports scans; scans hands it ``TrainingItem``s: an image loader (bytes mlcore's shared
preprocessing can decode), the label, an opaque group key for the by-patient split, and provenance.

Two kinds of labelled images feed training:

* ``LabelledImage`` rows from ``import_dataset`` (public or clinic datasets). Files are read through the
  checksum-verifying storage helper; DICOMs are stored de-identified and are rendered to an 8-bit PNG of their
  first frame here, exactly as intake renders previews. The group is the Kermany patient id from the file name
  (the same key mlcore's folder source uses, so a patient imported twice still lands in one split); images
  without one have no group and are used for training only. The dataset's own train/val/test folders are not
  followed: mlcore splits by patient itself, so the split is the same whichever way the images arrived.
* Doctor-approved scan labels: every approved or corrected decision of record (``scans.Review``, see
  ``review_selectors.reviewed_training_labels``) is added by ``approved_scan_items`` below, with the group key
  ``clinic:`` + HMAC-SHA256(``SCANS_DEID_UID_SALT``, patient pk) so that the key is stable per patient yet
  reveals neither the MRN nor the row id, and a loader reading the reviewed frame's pixels (the stored preview,
  or the frame rendered from a volume), never a file header. Provenance names the reviewer and time.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Iterator

from django.conf import settings

from mlcore.training_sources import TrainingItem

SOURCE_NAME = "scans"


def patient_group_key(patient_pk: int) -> str:
    """An opaque, salted per-patient key for splits; never the MRN, never the bare primary key."""
    salt = (getattr(settings, "SCANS_DEID_UID_SALT", "") or settings.SECRET_KEY).encode()
    return "clinic:" + hmac.new(salt, str(patient_pk).encode(), hashlib.sha256).hexdigest()[:24]


def _labelled_image_loader(name: str, sha256: str, file_format: str):
    def load() -> bytes:
        from .files import file_read_verified

        data = file_read_verified(name, sha256)
        if file_format != "dicom":
            return data
        from .derivatives import array_to_grayscale
        from .dicom_reading import dicom_read

        image = dicom_read(data, has_preamble=data[128:132] == b"DICM")
        photometric = str(image.dataset.get("PhotometricInterpretation", "MONOCHROME2"))
        buffer = io.BytesIO()
        array_to_grayscale(image.pixels[0], photometric=photometric).save(buffer, format="PNG")
        return buffer.getvalue()

    return load


def labelled_image_items() -> Iterator[TrainingItem]:
    from .models import LabelledImage

    rows = LabelledImage.objects.values_list(
        "pk", "label", "source_patient_id", "file", "sha256", "file_format", "dataset_import_id"
    )
    for pk, label, patient_id, name, sha256, file_format, import_id in rows.iterator():
        yield TrainingItem(
            key=f"labelled:{sha256}",
            label=label.upper(),
            load=_labelled_image_loader(name, sha256, file_format),
            group=f"kermany:{patient_id}" if patient_id else None,
            sha256=sha256,
            provenance=f"dataset import #{import_id}, labelled image #{pk}",
        )


def _scan_frame_loader(scan_pk: int, frame: int):
    def load() -> bytes:
        from .models import Scan
        from .selectors import scan_file_open, scan_frame_png

        scan = Scan.objects.get(pk=scan_pk)
        if scan.is_volume:
            return scan_frame_png(scan=scan, index=frame)
        # The preview: the pixels as intake rendered them (8-bit PNG), never a header that could carry PHI.
        return scan_file_open(scan=scan, kind="preview").handle.read()

    return load


def approved_scan_items() -> Iterator[TrainingItem]:
    """Doctor-approved and corrected readings of record (second opinions and ungradable scans are not labels)."""
    from .models import DicomMetadata
    from .review_selectors import reviewed_training_labels

    # The DICOM axial spacing, for preprocessing that crops a fixed physical depth (one query, not one per scan).
    spacings = dict(
        DicomMetadata.objects.filter(pixel_spacing_row_mm__isnull=False).values_list("scan_id", "pixel_spacing_row_mm")
    )
    for review in reviewed_training_labels().iterator():
        frame = review.prediction.frame if review.prediction is not None else 0
        yield TrainingItem(
            key=f"review:{review.scan.uuid}:{frame}",
            label=review.label.upper(),
            load=_scan_frame_loader(review.scan_id, frame),
            group=patient_group_key(review.scan.patient_id),
            sha256=review.scan.sha256,
            provenance=f"scan #{review.scan_id} frame {frame}, {review.decision} by user #{review.reviewer_id} "
            f"at {review.created_at.isoformat()}",
            extra={
                "reviewer_id": review.reviewer_id,
                "reviewed_at": review.created_at.isoformat(),
                "row_spacing_mm": spacings.get(review.scan_id),
            },
        )


def scans_training_items() -> list[TrainingItem]:
    return [*labelled_image_items(), *approved_scan_items()]


def register() -> None:
    from mlcore.training_sources import training_source_register

    training_source_register(name=SOURCE_NAME, source=scans_training_items)
