"""Scan intake actions.

Order of work for every stored image: decode and validate everything in memory, write the files
under generated names, then create the rows in one transaction. If the transaction fails the files
are deleted; if the process dies between the two, ``storage_orphans_sweep`` removes the files later.
So no row ever points at a missing file and no file outlives its failed upload.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.core.files.storage import default_storage
from django.db import IntegrityError as DbIntegrityError
from django.db import transaction
from django.utils import timezone

from patients.eyes import Eye
from patients.models import Patient
from scheduling.models import Appointment

from . import files, sniffing
from .archives import source_open
from .classification import scan_classification_enqueue
from .datasets import DatasetItem, dataset_plan
from .deidentify import deidentify_bytes
from .derivatives import preview_png, thumbnail_jpeg
from .dicom_metadata import dicom_acquisition_datetime, dicom_laterality, dicom_metadata_fields
from .errors import DuplicateScan, IdentityMismatch, IntakeError
from .identity import identity_differences
from .inspection import HIGH_DEPTH_MODES, InspectedFile, inspect_file, size_check
from .limits import human_bytes, limit
from .models import (
    AiStatus,
    DatasetImport,
    DicomMetadata,
    FileFormat,
    LabelledImage,
    Prediction,
    ReceivedInstance,
    Scan,
)

logger = logging.getLogger(__name__)
MAX_RECORDED_ERRORS = 1000


def display_name(name: str | None) -> str:
    """The uploaded name reduced to its last component: for messages only, never a path."""
    cleaned = PurePosixPath(str(name or "").replace("\\", "/")).name.strip()
    cleaned = "".join(ch for ch in cleaned if ch.isprintable())
    return cleaned[:255] or "unnamed file"


# --- Clinical scans --------------------------------------------------------------------------------


@dataclass
class UploadOutcome:
    file_name: str
    status: str  # "stored" | "refused" | "duplicate" | "identity_mismatch"
    message: str
    scan: Scan | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "stored"


def scan_upload(
    *,
    patient: Patient,
    eye: str,
    acquired_on: dt.date,
    file_name: str,
    data: bytes,
    uploaded_by,
    appointment: Appointment | None = None,
    confirm_identity_mismatch: bool = False,
) -> Scan:
    """Validate, store and record one file; raises IntakeError (naming the file) when refused."""
    name = display_name(file_name)
    try:
        return _scan_upload(
            patient=patient,
            eye=eye,
            acquired_on=acquired_on,
            name=name,
            data=data,
            uploaded_by=uploaded_by,
            appointment=appointment,
            confirm_identity_mismatch=confirm_identity_mismatch,
        )
    except IntakeError as exc:
        exc.file_name = name
        raise


def scan_acquisition_date_check(*, acquired_on: dt.date, patient: Patient | None = None) -> None:
    """The acquisition-date rule of every intake path (upload form, API, DICOM receiver, PACS, reconciliation).

    Not in the future (the clinic's today), and not before the patient was born (when the patient is known). Raises
    IntakeError (code ``acquisition_date``); the message names neither date, so it can go anywhere."""
    if not isinstance(acquired_on, dt.date):
        raise IntakeError("no acquisition date was given", code="acquisition_date")
    if acquired_on > timezone.localdate():
        raise IntakeError("the acquisition date is in the future", code="acquisition_date")
    birth = getattr(patient, "date_of_birth", None)
    if birth is not None and acquired_on < birth:
        raise IntakeError("the acquisition date is before the patient's date of birth", code="acquisition_date")


def scan_acquired_on(*, given: dt.date | None, dataset=None) -> dt.date | None:
    """The day a scan was taken, for every intake path (web upload, API, C-STORE, reconciliation).

    A DICOM file carries the day the device took it (AcquisitionDateTime, AcquisitionDate, ContentDate, SeriesDate,
    StudyDate, as ``dicom_acquisition_datetime`` reads them): that wins over ``given``, which is only what a person
    typed, or a form's default of today, and would misdate an older scan. ``given`` is used for raster files and
    for a DICOM header without any date."""
    if dataset is not None:
        acquired = dicom_acquisition_datetime(dataset)
        if acquired is not None:
            return timezone.localdate(acquired)
    return given


def scan_instance_duplicate_check(*, patient: Patient, sop_instance_uid: str) -> None:
    """Refuse a DICOM instance this patient already has, whichever path stored it: the same instance re-encoded by
    another path (a C-STORE re-encodes the dataset, a PACS may change the transfer syntax) has other bytes."""
    uid = (sop_instance_uid or "").strip()[:64]
    if not uid:
        return
    existing = Scan.objects.filter(patient=patient, sop_instance_uid=uid).only("pk", "acquired_on", "eye").first()
    if existing is not None:
        raise DuplicateScan(
            f"the same DICOM instance (SOP Instance UID) is already in this patient's record (scan #{existing.pk}, "
            f"{existing.eye}, acquired {existing.acquired_on:%d.%m.%Y}); it was not stored again"
        )


def _sop_instance_uid(inspected: InspectedFile) -> str:
    if inspected.dicom is None:
        return ""
    return str(inspected.dicom.dataset.get("SOPInstanceUID", "") or "").strip()[:64]


def _scan_upload(*, patient, eye, acquired_on, name, data, uploaded_by, appointment, confirm_identity_mismatch):
    if eye not in Eye.values:
        raise IntakeError("no eye (OD or OS) was chosen")
    if appointment is not None and appointment.patient_id != patient.pk:
        raise IntakeError("the appointment belongs to another patient")
    inspected = inspect_file(data)
    acquired_on = scan_acquired_on(given=acquired_on, dataset=inspected.dicom.dataset if inspected.dicom else None)
    scan_acquisition_date_check(acquired_on=acquired_on, patient=patient)
    sha256 = files.sha256_hex(data)
    sop_instance_uid = _sop_instance_uid(inspected)
    _duplicate_check(patient=patient, sha256=sha256)
    scan_instance_duplicate_check(patient=patient, sop_instance_uid=sop_instance_uid)
    warnings = list(inspected.warnings)
    mismatch = False
    if inspected.dicom is not None:
        mismatch = _identity_check(inspected, patient=patient, eye=eye, confirmed=confirm_identity_mismatch)
        if mismatch:
            warnings.append("Stored although the DICOM identity or laterality differed (confirmed by staff).")

    default_frame = inspected.frame_count // 2
    gray = inspected.frame_gray(default_frame)
    preview, thumbnail = preview_png(gray), thumbnail_jpeg(gray)
    deidentified = deidentify_bytes(inspected.dicom.dataset) if inspected.dicom is not None else None

    stored: list[str] = []
    try:
        original = files.file_store(prefix=files.ORIGINALS, extension=inspected.extension, data=data)
        stored.append(original.name)
        preview_file = files.file_store(prefix=files.DERIVED, extension=".png", data=preview)
        stored.append(preview_file.name)
        thumb_file = files.file_store(prefix=files.DERIVED, extension=".jpg", data=thumbnail)
        stored.append(thumb_file.name)
        deid_file = None
        if deidentified is not None:
            deid_file = files.file_store(prefix=files.DEIDENTIFIED, extension=".dcm", data=deidentified)
            stored.append(deid_file.name)
        with transaction.atomic():
            scan = Scan.objects.create(
                patient=patient,
                appointment=appointment,
                eye=eye,
                acquired_on=acquired_on,
                file_format=inspected.file_format,
                original=original.name,
                original_name=name,
                content_type=inspected.content_type,
                size_bytes=len(data),
                sha256=sha256,
                sop_instance_uid=sop_instance_uid,
                width=inspected.width,
                height=inspected.height,
                frame_count=inspected.frame_count,
                ai_frames=[default_frame],
                ai_status=AiStatus.QUEUED,
                preview=preview_file.name,
                preview_sha256=preview_file.sha256,
                thumbnail=thumb_file.name,
                thumbnail_sha256=thumb_file.sha256,
                deidentified=deid_file.name if deid_file else "",
                deidentified_sha256=deid_file.sha256 if deid_file else "",
                warnings=warnings,
                identity_mismatch_confirmed=mismatch,
                uploaded_by=uploaded_by,
            )
            if inspected.dicom is not None:
                DicomMetadata.objects.create(
                    scan=scan,
                    **dicom_metadata_fields(inspected.dicom.dataset, sop_class_name=inspected.dicom.sop_class_name),
                )
    except DbIntegrityError as exc:
        _delete_all(stored)
        if Scan.objects.filter(patient=patient, sha256=sha256).exists() or (
            sop_instance_uid and Scan.objects.filter(patient=patient, sop_instance_uid=sop_instance_uid).exists()
        ):
            raise DuplicateScan("the same image was uploaded for this patient at the same moment") from exc
        raise
    except BaseException:
        _delete_all(stored)
        raise
    scan_classification_enqueue(scan=scan)
    logger.info("scan %s stored (%s, %s frames)", scan.pk, scan.file_format, scan.frame_count)
    return scan


def _delete_all(names: Iterable[str]) -> None:
    for name in names:
        files.file_delete_quietly(name)


def _duplicate_check(*, patient: Patient, sha256: str) -> None:
    existing = Scan.objects.filter(patient=patient, sha256=sha256).only("pk", "acquired_on", "eye").first()
    if existing is not None:
        raise DuplicateScan(
            f"the same image is already in this patient's record (scan #{existing.pk}, {existing.eye}, "
            f"acquired {existing.acquired_on:%d.%m.%Y}); it was not stored again"
        )


def _identity_check(inspected: InspectedFile, *, patient: Patient, eye: str, confirmed: bool) -> bool:
    dataset = inspected.dicom.dataset
    differences = identity_differences(dataset, patient)
    file_eye = dicom_laterality(dataset)
    if file_eye and file_eye != eye:
        differences.append(f"eye (file says {file_eye}, {eye} was chosen)")
    if differences and not confirmed:
        raise IdentityMismatch(
            "the DICOM header does not match the chosen patient — differs: "
            + ", ".join(differences)
            + ". Nothing was stored; check the patient and eye, or upload again with "
            "“store despite identity mismatch” ticked."
        )
    return bool(differences)


def upload_read(uploaded) -> bytes:
    """Read an UploadedFile, refusing oversize files without reading all of them."""
    maximum = limit("SCANS_MAX_UPLOAD_BYTES")
    if uploaded.size is not None and uploaded.size > maximum:
        raise IntakeError(f"the file is larger than the upload limit of {human_bytes(maximum)}", code="too_large")
    uploaded.seek(0)
    data = uploaded.read(maximum + 1)
    size_check(len(data))
    return data


def scans_upload_batch(
    *,
    patient: Patient,
    eye: str,
    acquired_on: dt.date,
    uploads: Iterable,
    uploaded_by,
    appointment: Appointment | None = None,
    confirm_identity_mismatch: bool = False,
) -> list[UploadOutcome]:
    """Each file on its own: one bad file is reported and the good ones are stored."""
    outcomes = []
    for uploaded in uploads:
        name = display_name(getattr(uploaded, "name", ""))
        try:
            data = upload_read(uploaded)
            scan = scan_upload(
                patient=patient,
                eye=eye,
                acquired_on=acquired_on,
                file_name=name,
                data=data,
                uploaded_by=uploaded_by,
                appointment=appointment,
                confirm_identity_mismatch=confirm_identity_mismatch,
            )
        except IntakeError as exc:
            exc.file_name = name
            outcomes.append(
                UploadOutcome(
                    file_name=name,
                    status=exc.code if exc.code in ("duplicate", "identity_mismatch") else "refused",
                    message=exc.message,
                )
            )
        except Exception:  # noqa: BLE001 - one broken file must not lose the others
            logger.exception("unexpected error while ingesting an uploaded file")
            outcomes.append(
                UploadOutcome(
                    file_name=name,
                    status="refused",
                    message=f"{name}: could not be processed because of an internal error; nothing was stored",
                )
            )
        else:
            outcomes.append(
                UploadOutcome(
                    file_name=name,
                    status="stored",
                    message=_stored_message(name=name, scan=scan, given=acquired_on),
                    scan=scan,
                    warnings=list(scan.warnings),
                )
            )
    return outcomes


def _stored_message(*, name: str, scan: Scan, given: dt.date) -> str:
    """Say so when the file's own date replaced the one on the form, so nobody thinks the form's date was kept."""
    if scan.acquired_on != given:
        return f"{name}: stored, acquired {scan.acquired_on:%d.%m.%Y} (the date in its DICOM header)"
    return f"{name}: stored"


def ai_frames_limit_check(count: int) -> None:
    """At most SCANS_MAX_AI_FRAMES readings per scan: one click must not queue a reading of every B-scan."""
    maximum = limit("SCANS_MAX_AI_FRAMES")
    if count > maximum:
        raise IntakeError(
            f"at most {maximum} frames of a scan can be read by the AI ({count} were chosen); "
            "choose the B-scans that matter (SCANS_MAX_AI_FRAMES)",
            code="too_many_ai_frames",
        )


def scan_frames_select(*, scan: Scan, frames: Iterable[int], user) -> Scan:
    """Choose which B-scans of a volume the AI reads; a new choice queues a new reading."""
    chosen = sorted({int(f) for f in frames})
    if not chosen:
        raise IntakeError("choose at least one frame for the AI reading")
    if chosen[0] < 0 or chosen[-1] >= scan.frame_count:
        raise IntakeError(f"frames must be between 1 and {scan.frame_count}")
    ai_frames_limit_check(len(chosen))
    if chosen != list(scan.ai_frames):
        scan.ai_frames = chosen
        scan.save(update_fields=["ai_frames"])
        scan_classification_enqueue(scan=scan)
        logger.info("scan %s: AI frames changed by user %s", scan.pk, getattr(user, "pk", None))
    return scan


# --- Orphans ----------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    orphan_files: list[str] = field(default_factory=list)
    young_files_skipped: int = 0
    scans_missing_file: list[int] = field(default_factory=list)
    labelled_images_missing_file: list[int] = field(default_factory=list)
    deleted: bool = False


def _referenced_names() -> set[str]:
    names: set[str] = set()
    for row in Scan.objects.values_list("original", "preview", "thumbnail", "deidentified").iterator():
        names.update(n for n in row if n)
    names.update(n for n in Prediction.objects.values_list("heatmap", flat=True).iterator() if n)
    names.update(LabelledImage.objects.values_list("file", flat=True).iterator())
    names.update(n for n in DatasetImport.objects.values_list("archive", flat=True) if n)
    names.update(n for n in ReceivedInstance.objects.values_list("file", flat=True).iterator() if n)
    return names


def storage_orphans_sweep(
    *, older_than_minutes: int | None = None, dry_run: bool = False, repair_rows: bool = True
) -> SweepReport:
    """Repair what a process killed between "file written" and "row committed" leaves behind.

    Files under our prefixes that no row references and that are older than the grace period are
    deleted (younger ones may belong to an upload in progress). Rows whose file is gone are deleted
    too, with their other files, so the record never offers an image it cannot show; the audit log
    records each deletion. ``repair_rows=False`` (the nightly beat run) only reports such rows: deleting
    clinical records is for an operator who has looked at why the file is gone, not for an unattended job.
    """
    grace = dt.timedelta(
        minutes=limit("SCANS_ORPHAN_GRACE_MINUTES") if older_than_minutes is None else older_than_minutes
    )
    cutoff = timezone.now() - grace
    report = SweepReport(deleted=not dry_run)
    referenced = _referenced_names()
    for prefix in files.MANAGED_PREFIXES:
        for name in files.storage_walk(prefix):
            if name in referenced:
                continue
            try:
                modified = default_storage.get_modified_time(name)
            except (FileNotFoundError, NotImplementedError):
                continue
            if modified > cutoff:
                report.young_files_skipped += 1
                continue
            report.orphan_files.append(name)
            if not dry_run:
                files.file_delete_quietly(name)

    for scan in (
        Scan.objects.filter(uploaded_at__lt=cutoff)
        .only("pk", "original", "preview", "thumbnail", "deidentified")
        .iterator()
    ):
        if not default_storage.exists(scan.original.name):
            report.scans_missing_file.append(scan.pk)
            if not dry_run and repair_rows:
                names = [scan.preview.name, scan.thumbnail.name, scan.deidentified.name]
                with transaction.atomic():
                    scan.delete()
                _delete_all(names)
    for image in LabelledImage.objects.filter(created_at__lt=cutoff).only("pk", "file").iterator():
        if not default_storage.exists(image.file.name):
            report.labelled_images_missing_file.append(image.pk)
            if not dry_run and repair_rows:
                image.delete()
    if report.orphan_files or report.scans_missing_file or report.labelled_images_missing_file:
        logger.warning(
            "orphan sweep: %d files, %d scans and %d labelled images without their counterpart%s",
            len(report.orphan_files),
            len(report.scans_missing_file),
            len(report.labelled_images_missing_file),
            " (dry run)" if dry_run else (" removed" if repair_rows else " (files removed; rows left for an operator)"),
        )
    return report


# --- Labelled datasets --------------------------------------------------------------------------------


def labelled_image_store(*, job: DatasetImport, item: DatasetItem, data: bytes, source: str) -> LabelledImage:
    """One training image: validated like a scan; a DICOM is stored de-identified, never as sent."""
    source_sha256 = files.sha256_hex(data)
    existing = LabelledImage.objects.filter(source_sha256=source_sha256).only("pk").first()
    if existing is not None:
        raise DuplicateScan(f"the same image was already imported (labelled image #{existing.pk})")
    inspected = inspect_file(data)
    if inspected.raster is not None and inspected.raster.mode in HIGH_DEPTH_MODES:
        # Training reads the stored bytes as they are (mlcore decodes 8-bit images only); a scan is windowed instead.
        raise IntakeError(
            "is a 16-bit (or floating-point) image; training images must be 8-bit — export it as 8-bit",
            code="unsupported_depth",
        )
    stored_bytes = data
    extension = inspected.extension
    if inspected.file_format == FileFormat.DICOM:
        stored_bytes = deidentify_bytes(inspected.dicom.dataset)
    stored = files.file_store(prefix=f"{files.DATASET_IMAGES}/{job.uuid.hex}", extension=extension, data=stored_bytes)
    try:
        with transaction.atomic():
            return LabelledImage.objects.create(
                dataset_import=job,
                label=item.label,
                split=item.split,
                source=source[:500],
                original_name=item.member.path[:500],
                source_patient_id=item.source_patient_id,
                file=stored.name,
                sha256=stored.sha256,
                source_sha256=source_sha256,
                file_format=inspected.file_format,
                size_bytes=stored.size,
                width=inspected.width,
                height=inspected.height,
            )
    except DbIntegrityError as exc:
        files.file_delete_quietly(stored.name)
        raise DuplicateScan("the same image was already imported") from exc
    except BaseException:
        files.file_delete_quietly(stored.name)
        raise


def _record_error(job: DatasetImport, path: str, reason: str) -> None:
    if len(job.errors) < MAX_RECORDED_ERRORS:
        job.errors.append({"file": path, "reason": reason})


def dataset_import(
    *,
    path: Path | str,
    name: str = "",
    user=None,
    job: DatasetImport | None = None,
    source_label: str = "",
    progress: Callable[[DatasetImport], None] | None = None,
    progress_every: int = 25,
) -> DatasetImport:
    """Import a labelled dataset folder or ZIP as training images (never as patients)."""
    path = Path(path)
    if job is None:
        job = DatasetImport.objects.create(name=name or path.name, source=source_label or str(path), created_by=user)
    job.status, job.started_at = DatasetImport.Status.RUNNING, timezone.now()
    job.save(update_fields=["status", "started_at"])
    source_text = job.source or str(path)
    try:
        source = source_open(path)
    except IntakeError as exc:
        return _job_fail(job, exc.message, progress)
    try:
        try:
            plan = dataset_plan(source.members(), source.read)
        except IntakeError as exc:
            return _job_fail(job, exc.message, progress)
        job.layout = plan.layout
        links = getattr(source, "links", [])
        job.total = len(plan.items) + len(plan.problems) + len(links)
        for problem_path, reason in plan.problems:
            _record_error(job, problem_path, reason)
        for link in links:
            _record_error(job, link, "is a symbolic link; links are not followed")
        job.refused = len(plan.problems) + len(links)
        job.processed = job.refused
        job.save()
        if progress:
            progress(job)
        for item in plan.items:
            try:
                data = source.read(item.member)
                labelled_image_store(job=job, item=item, data=data, source=source_text)
            except DuplicateScan as exc:
                job.duplicates += 1
                _record_error(job, item.member.path, exc.reason)
            except IntakeError as exc:
                job.refused += 1
                _record_error(job, item.member.path, exc.reason)
            except OSError:
                job.refused += 1
                _record_error(job, item.member.path, "could not be read")
            else:
                job.imported += 1
            job.processed += 1
            if job.processed % progress_every == 0:
                job.save(update_fields=["processed", "imported", "duplicates", "refused", "errors"])
                if progress:
                    progress(job)
    except Exception as exc:
        logger.exception("dataset import %s failed", job.pk)
        return _job_fail(job, f"the import stopped because of an internal error ({type(exc).__name__})", progress)
    finally:
        source.close()
    job.status, job.finished_at = DatasetImport.Status.DONE, timezone.now()
    job.message = f"{job.imported} imported, {job.duplicates} duplicates skipped, {job.refused} refused ({job.layout})"
    job.save()
    if progress:
        progress(job)
    return job


def _job_fail(job: DatasetImport, message: str, progress) -> DatasetImport:
    job.status, job.finished_at, job.message = DatasetImport.Status.FAILED, timezone.now(), message
    job.save()
    if progress:
        progress(job)
    return job


def dataset_import_start(*, name: str, user, folder: str = "", archive=None) -> DatasetImport:
    """Create the job for the admin page and hand the work to a Celery worker.

    An uploaded archive goes to storage first: the worker may run on another machine.
    """
    from .tasks import dataset_import_task

    if bool(folder) == bool(archive):
        raise IntakeError("give either a server folder or an archive to upload")
    if folder:
        resolved = Path(folder).resolve()
        roots = [Path(r).resolve() for r in limit("SCANS_DATASET_IMPORT_ROOTS")]
        if not any(resolved == root or root in resolved.parents for root in roots):
            raise IntakeError(
                "is not inside a folder allowed for dataset import (SCANS_DATASET_IMPORT_ROOTS)", file_name=folder
            )
        if not resolved.is_dir():
            raise IntakeError("is not a folder on the server", file_name=folder)
        job = DatasetImport.objects.create(name=name or resolved.name, source=str(resolved), created_by=user)
    else:
        label = display_name(archive.name)
        head = archive.read(512)
        archive.seek(0)
        kind, kind_label = sniffing.sniff(head)
        if kind != sniffing.ARCHIVE or kind_label != "ZIP":
            raise IntakeError("is not a ZIP archive", file_name=label)
        stored_name = default_storage.save(files.generated_name(files.DATASET_UPLOADS, ".zip"), archive)
        try:
            job = DatasetImport.objects.create(name=name or label, source=label, archive=stored_name, created_by=user)
        except BaseException:
            files.file_delete_quietly(stored_name)
            raise
    transaction.on_commit(lambda: dataset_import_task.delay(job.pk))
    return job


def dataset_import_run(*, job_id: int) -> DatasetImport:
    """The worker's side: fetch the archive (if any) to a local temp file and import it."""
    job = DatasetImport.objects.get(pk=job_id)
    if job.is_finished:
        return job
    if not job.archive:
        return dataset_import(path=job.source, job=job)
    with tempfile.NamedTemporaryFile(suffix=".zip") as local:
        with default_storage.open(job.archive.name, "rb") as remote:
            while chunk := remote.read(1024 * 1024):
                local.write(chunk)
        local.flush()
        job = dataset_import(path=local.name, job=job)
    archive_name = job.archive.name
    job.archive = ""
    job.save(update_fields=["archive"])
    files.file_delete_quietly(archive_name)
    return job
