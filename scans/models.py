"""Scan intake: clinical scans of a patient's eye, and labelled images imported for training.

Files live in the ``default`` storage under generated names; every file a row points at carries its
sha256 so a read can prove the bytes are the ones that were ingested.
"""

from __future__ import annotations

import uuid

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models

from patients.eyes import Eye
from patients.models import Patient
from scheduling.models import Appointment


class FileFormat(models.TextChoices):
    JPEG = "jpeg", "JPEG"
    PNG = "png", "PNG"
    TIFF = "tiff", "TIFF"
    DICOM = "dicom", "DICOM"


class AiStatus(models.TextChoices):
    QUEUED = "queued", "Queued for AI reading"
    AWAITING_MODEL = "awaiting_model", "Awaiting a model"
    CLASSIFIED = "classified", "Classified"
    FAILED = "failed", "AI reading failed"


class Scan(models.Model):
    """One ingested image file (a single B-scan, a photo, or a whole OCT volume) of one eye.

    The original is stored byte for byte and never rewritten; the preview, thumbnail and (for DICOM)
    the de-identified copy are derived from it once at intake.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="scans")
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="scans")
    eye = models.CharField(max_length=2, choices=Eye.choices)
    acquired_on = models.DateField(help_text="Date the image was taken (not the upload date).")

    file_format = models.CharField(max_length=8, choices=FileFormat.choices)
    original = models.FileField(max_length=255)
    original_name = models.CharField(
        max_length=255, help_text="Name of the uploaded file, for display only; never used as a path."
    )
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    sop_instance_uid = models.CharField(
        "SOP Instance UID",
        max_length=64,
        blank=True,
        editable=False,
        help_text="A DICOM file's SOP Instance UID (empty for JPEG/PNG/TIFF): one instance is stored once per patient, "
        "whichever way it arrives (upload, API, C-STORE, PACS, reconciliation).",
    )

    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frame_count = models.PositiveIntegerField(default=1)
    ai_frames = models.JSONField(
        default=list, help_text="0-based frame indices that get an AI reading (default: the central B-scan)."
    )
    ai_status = models.CharField(max_length=16, choices=AiStatus.choices, default=AiStatus.QUEUED)
    ai_queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the AI reading was last queued (the sweeper re-queues stale ones)."
    )
    ai_error = models.CharField(
        max_length=200, blank=True, help_text="Why the AI reading failed: a fixed phrase, never patient data."
    )

    preview = models.FileField(max_length=255)
    preview_sha256 = models.CharField(max_length=64)
    thumbnail = models.FileField(max_length=255)
    thumbnail_sha256 = models.CharField(max_length=64)
    deidentified = models.FileField(max_length=255, blank=True)
    deidentified_sha256 = models.CharField(max_length=64, blank=True)

    warnings = models.JSONField(default=list, blank=True)
    identity_mismatch_confirmed = models.BooleanField(
        default=False, help_text="The DICOM identity differed from the patient and staff stored it anyway."
    )

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    # The review queue's sort keys, copied from the most pressing reading when a reading is stored or a decision
    # recorded (scans.review_queue_keys): at 100,000 scans the queue must page and count in SQL over one index, not
    # rank every scan's readings per request.
    review_pending = models.BooleanField(
        default=False, help_text="Classified and waiting for its decision of record (the review queue)."
    )
    queue_prediction = models.ForeignKey(
        "Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    queue_urgency = models.CharField(max_length=16, blank=True, editable=False)
    queue_urgency_rank = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    queue_uncertainty = models.FloatField(null=True, blank=True, editable=False)
    queue_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the first reading arrived (waiting time counts from it)."
    )

    class Meta:
        ordering = ["-acquired_on", "-uploaded_at", "-pk"]
        permissions = [("choose_scan_frames", "Can choose which frames of a scan get an AI reading")]
        constraints = [
            # The duplicate check in scan_upload reports duplicates nicely; this catches the race.
            models.UniqueConstraint(fields=["patient", "sha256"], name="scan_unique_image_per_patient"),
            # The same DICOM instance re-encoded by another path (C-STORE vs. the file) has other bytes, same UID.
            models.UniqueConstraint(
                fields=["patient", "sop_instance_uid"],
                condition=~models.Q(sop_instance_uid=""),
                name="scan_unique_dicom_instance_per_patient",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "eye", "acquired_on"], name="scan_patient_eye_date_idx"),
            # The queue's order (scans.review_selectors), over waiting scans only; with the patient included the
            # counts per urgency are answered from the index alone (PostgreSQL; SQLite ignores ``include``).
            models.Index(
                fields=["queue_urgency_rank", "-queue_uncertainty", "queue_since", "id"],
                include=["patient"],
                name="scan_review_queue_idx",
                condition=models.Q(review_pending=True),
            ),
            models.Index(fields=["uploaded_at"], name="scan_uploaded_at_idx"),
            models.Index(fields=["ai_status", "uploaded_at"], name="scan_status_uploaded_idx"),
        ]

    def __str__(self) -> str:
        return f"Scan #{self.pk}"

    @property
    def is_volume(self) -> bool:
        return self.frame_count > 1

    @property
    def default_frame(self) -> int:
        return self.frame_count // 2


# What a reading is (``Prediction.outcome``). A refused image stores ``UNRECOGNISED`` as its urgency, so every
# urgency column (the queue's, a decision's copy) says it without a join; a deferred one keeps the urgency of the
# label it did not suggest (the API carries it), and the queue ranks it by ``DEFERRED`` instead.
SUGGESTION, DEFERRED, UNRECOGNISED = "suggestion", "deferred", "unrecognised"
DEFERRED_TEXT = "AI unsure — read without AI suggestion"
UNRECOGNISED_TEXT = "Not recognised as a retinal OCT B-scan"


class Prediction(models.Model):
    """One model version's reading of one frame of a scan, as ``mlcore.runtime.Reading`` returned it.

    ``frame`` is 0 for single images (not NULL, so the unique constraint also holds for them): a
    re-delivered Celery task finds the row and never stores a second reading.
    """

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey("mlcore.ModelVersion", on_delete=models.PROTECT, related_name="+")
    frame = models.PositiveIntegerField(default=0, help_text="0-based frame index (0 for single images).")
    probabilities = models.JSONField(help_text="Calibrated probability of every class.")
    label = models.CharField(max_length=32)
    confidence = models.FloatField()
    uncertainty = models.FloatField(help_text="Normalised predictive entropy: 0 certain, 1 uniform.")
    needs_careful_review = models.BooleanField(default=False)
    review_reasons = models.JSONField(default=list, blank=True)
    urgency = models.CharField(max_length=16, help_text=f'"{UNRECOGNISED}" when the image was not recognised.')
    deferred = models.BooleanField(
        default=False, help_text="The AI was unsure (under its deferral threshold): shown without its suggestion."
    )
    recognised = models.BooleanField(
        default=True, help_text="False when the image was not recognised as a retinal OCT B-scan (no diagnosis)."
    )
    refusal_reason = models.CharField(
        max_length=200, blank=True, help_text="Why the image was not recognised: a fixed phrase, never patient data."
    )
    heatmap = models.FileField(max_length=255, blank=True, help_text="Grad-CAM overlay PNG (private storage).")
    heatmap_sha256 = models.CharField(max_length=64, blank=True)
    model_ms = models.FloatField()
    input_sha256 = models.CharField(max_length=64)
    device = models.CharField(
        max_length=160,
        blank=True,
        help_text="The device that took the scan (DICOM Manufacturer / Model Name, or the booked OCT device).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scan", "frame", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "model_version", "frame"], name="prediction_unique_per_version")
        ]

    def __str__(self) -> str:
        return f"Prediction #{self.pk} of scan #{self.scan_id} ({self.label if self.suggests else self.outcome})"

    @property
    def outcome(self) -> str:
        """``suggestion`` (a label to approve or correct), ``deferred`` (AI unsure) or ``unrecognised`` (not an OCT
        B-scan): only a suggestion is shown as the AI's label or counted as the AI's diagnosis."""
        if not self.recognised:
            return UNRECOGNISED
        return DEFERRED if self.deferred else SUGGESTION

    @property
    def suggests(self) -> bool:
        return self.recognised and not self.deferred

    @property
    def outcome_text(self) -> str:
        """What every place that shows this reading says instead of a label ("" for a suggestion)."""
        if not self.recognised:
            return f"{UNRECOGNISED_TEXT}: {self.refusal_reason}" if self.refusal_reason else UNRECOGNISED_TEXT
        return DEFERRED_TEXT if self.deferred else ""


class DicomMetadata(models.Model):
    """What the DICOM header says, copied into fields so it can be shown and queried without parsing.

    Deliberately no patient name, ID or birth date: identity is compared at intake, not kept twice.
    """

    scan = models.OneToOneField(Scan, on_delete=models.CASCADE, related_name="dicom")
    modality = models.CharField(max_length=16, blank=True)
    sop_class_uid = models.CharField("SOP class UID", max_length=64, blank=True)
    sop_class_name = models.CharField("SOP class", max_length=128, blank=True)
    transfer_syntax_uid = models.CharField(max_length=64, blank=True)
    study_instance_uid = models.CharField(max_length=64, blank=True)
    series_instance_uid = models.CharField(max_length=64, blank=True)
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    laterality = models.CharField(max_length=2, blank=True)
    acquisition_datetime = models.DateTimeField(null=True, blank=True)
    manufacturer = models.CharField(max_length=128, blank=True)
    model_name = models.CharField(max_length=128, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    columns = models.PositiveIntegerField(null=True, blank=True)
    number_of_frames = models.PositiveIntegerField(null=True, blank=True)
    pixel_spacing_row_mm = models.FloatField(null=True, blank=True)
    pixel_spacing_column_mm = models.FloatField(null=True, blank=True)
    slice_thickness_mm = models.FloatField(null=True, blank=True)
    photometric_interpretation = models.CharField(max_length=32, blank=True)
    bits_stored = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "DICOM metadata"
        verbose_name_plural = "DICOM metadata"

    def __str__(self) -> str:
        return f"DICOM metadata of scan #{self.scan_id}"


class DatasetImport(models.Model):
    """One run of a labelled-dataset import, with the progress a worker reports while it runs."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=500, help_text="Server folder, uploaded archive name, or command path.")
    archive = models.FileField(max_length=255, blank=True, help_text="Uploaded archive, removed after the run.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    layout = models.CharField(max_length=32, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Dataset import #{self.pk} ({self.name})"

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else (100 if self.status == "done" else 0)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VAL = "val", "Validation"
    TEST = "test", "Test"


class LabelledImage(models.Model):
    """A training image: a label and where it came from, never a patient.

    DICOM sources are stored de-identified; raster images as given.
    """

    dataset_import = models.ForeignKey(DatasetImport, on_delete=models.PROTECT, related_name="images")
    label = models.CharField(max_length=64, db_index=True)
    split = models.CharField(max_length=5, choices=Split.choices, blank=True)
    source = models.CharField(max_length=500)
    original_name = models.CharField(max_length=500, help_text="Path inside the source folder or archive.")
    source_patient_id = models.CharField(
        max_length=64, blank=True, help_text="Patient id encoded in the file name (Kermany CLASS-PATIENT-N)."
    )
    file = models.FileField(max_length=255)
    sha256 = models.CharField(max_length=64, help_text="Of the stored file (verified on read).")
    source_sha256 = models.CharField(
        max_length=64, unique=True, help_text="Of the file as found in the source (detects re-imports)."
    )
    file_format = models.CharField(max_length=8, choices=FileFormat.choices)
    size_bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["label", "split"], name="labelledimage_label_split_idx")]

    def __str__(self) -> str:
        return f"Labelled image #{self.pk} ({self.label})"


class ReviewDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    CORRECTED = "corrected", "Corrected"
    UNGRADABLE = "ungradable", "Ungradable (image quality)"


class Review(models.Model):
    """A doctor's decision on a scan's AI reading: the clinical label of record, and a training label.

    One primary review per scan (the queue's decision); colleagues asked for a second opinion add their own
    rows with ``is_second_opinion``, so disagreements stay visible instead of being overwritten. ``ai_label``
    and ``model_version`` are copied from the reading at decision time: agreement statistics per model version
    must not change when a scan is read again by a newer model.
    """

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="reviews")
    prediction = models.ForeignKey(Prediction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.ForeignKey(
        "mlcore.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ai_label = models.CharField(max_length=32, blank=True)
    ai_urgency = models.CharField(max_length=16, blank=True)
    # Copied like ai_label: a decision on a reading the AI deferred or did not recognise measures nothing about the
    # AI's suggestions, so agreement leaves it out.
    ai_deferred = models.BooleanField(default=False)
    ai_recognised = models.BooleanField(default=True)
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices)
    label = models.CharField(max_length=32, blank=True, help_text="The doctor's label; empty when ungradable.")
    note = models.TextField(blank=True)
    is_second_opinion = models.BooleanField(default=False)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    queued_at = models.DateTimeField(null=True, blank=True, help_text="When the reading entered the queue.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("review_scan", "Can approve, correct or mark ungradable a scan's AI reading"),
            ("export_review", "Can export reviewed results"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["scan"], condition=models.Q(is_second_opinion=False), name="review_one_primary_per_scan"
            ),
            models.UniqueConstraint(fields=["scan", "reviewer"], name="review_one_per_reviewer"),
        ]
        indexes = [models.Index(fields=["created_at"], name="review_created_idx")]

    def __str__(self) -> str:
        return f"Review #{self.pk} of scan #{self.scan_id} ({self.decision})"

    @property
    def ai_suggested(self) -> bool:
        return self.ai_recognised and not self.ai_deferred

    @property
    def decision_display(self) -> str:
        """ "Labelled" for a label chosen where the AI suggested nothing (stored as a correction: a training label)."""
        if self.decision == ReviewDecision.CORRECTED and not self.ai_suggested:
            return "Labelled"
        return self.get_decision_display()

    @property
    def ai_said(self) -> str:
        """The AI's side of the decision as the decisions list shows it."""
        if not self.ai_recognised:
            return UNRECOGNISED_TEXT
        if self.ai_deferred:
            return "AI unsure (no suggestion)"
        return f"AI said {self.ai_label}" if self.ai_label else ""

    @property
    def agrees_with_ai(self) -> bool | None:
        if (
            self.decision == ReviewDecision.UNGRADABLE
            or not self.ai_label
            or self.ai_deferred
            or not self.ai_recognised
        ):
            return None
        return self.label == self.ai_label


class SecondOpinionRequest(models.Model):
    """A doctor asking a colleague to review a scan too; answered by the colleague's own Review."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="second_opinion_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    colleague = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="second_opinion_requests"
    )
    note = models.TextField(blank=True)
    review = models.OneToOneField(Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "colleague"], name="second_opinion_once_per_colleague"),
        ]

    def __str__(self) -> str:
        return f"Second opinion request #{self.pk} on scan #{self.scan_id}"


# Clinical actions: every decision of record, second opinion and request is in the audit log (who, when, what).
auditlog.register(Review)
auditlog.register(SecondOpinionRequest)


# --- DICOM networking (docs/dicom.md) ----------------------------------------------------------------


class ReceivedInstanceReason(models.TextChoices):
    UNKNOWN_PATIENT = "unknown_patient", "No patient with this Patient ID"
    NO_PATIENT_ID = "no_patient_id", "The header has no Patient ID"
    ARCHIVED_PATIENT = "archived_patient", "The patient is archived"
    NO_LATERALITY = "no_laterality", "The header names no eye"
    IDENTITY_MISMATCH = "identity_mismatch", "Name, birth date, sex or eye differ from the patient"


class ReceivedInstanceStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a technician"
    ASSIGNED = "assigned", "Assigned to a patient"
    DISCARDED = "discarded", "Discarded"


# Registered here rather than in ScansConfig.ready: the header copies are PHI, and every change must be audited.
@auditlog.register()
class ReceivedInstance(models.Model):
    """A DICOM instance the receiver could not file on its own: it waits here until a technician assigns it.

    The instance is kept byte for byte (one file, one row, written together) and goes through the normal intake
    (``scan_upload``) only when assigned, so it is validated, de-identified and read by the AI exactly like an
    upload. The header fields are copied so the reconciliation list can show them without parsing every file.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file = models.FileField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=20, choices=ReceivedInstanceReason.choices)
    status = models.CharField(
        max_length=12, choices=ReceivedInstanceStatus.choices, default=ReceivedInstanceStatus.PENDING
    )
    calling_ae_title = models.CharField(max_length=16, blank=True)
    sop_class_uid = models.CharField(max_length=64, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    header_patient_id = models.CharField(max_length=64, blank=True)
    header_patient_name = models.CharField(max_length=200, blank=True)
    header_birth_date = models.DateField(null=True, blank=True)
    header_sex = models.CharField(max_length=1, blank=True)
    laterality = models.CharField(max_length=2, blank=True)
    acquired_on = models.DateField(null=True, blank=True)
    accession_number = models.CharField(max_length=16, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    scan = models.ForeignKey(Scan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["status", "received_at"], name="received_status_idx")]

    def __str__(self) -> str:
        return f"Received instance #{self.pk}"


class PacsRetrievalStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Retrieving"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


@auditlog.register()
class PacsRetrieval(models.Model):
    """One study pulled from the configured PACS into a patient's record (the work runs in a Celery task)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    study_instance_uid = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=PacsRetrievalStatus.choices, default=PacsRetrievalStatus.QUEUED)
    stored = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True, help_text="Outcome in words: counts and reasons, no PHI.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"PACS retrieval #{self.pk}"
