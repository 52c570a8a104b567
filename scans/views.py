"""Scan pages and file endpoints. Every one asks scans.access before touching a patient's scans."""

from __future__ import annotations

import logging

from auditlog.signals import accessed
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patients.access import patient_visible_to
from patients.eyes import Eye
from patients.models import Patient
from scheduling.models import Appointment

from .access import action_require, patient_scans_allowed
from .access import patient_scans_require as _require_role_and_reach
from .classification import scan_classification_retry
from .errors import IntakeError, IntegrityError
from .forms import FrameSelectForm, ScanUploadForm, frames_display
from .heatmaps import frame_heatmap
from .models import AiStatus, Scan
from .selectors import (
    FILE_KINDS,
    patient_scans_list,
    prediction_heatmap_open,
    scan_file_open,
    scan_frame_png,
    scan_get,
    scan_predictions_current,
    scans_of_eye,
)
from .services import scan_frames_select, scans_upload_batch

logger = logging.getLogger(__name__)
PRIVATE = "private, no-store"


def _private(response):
    response["Cache-Control"] = PRIVATE
    return response


def patient_scans_require(*, user, patient, action="view") -> None:
    """404 for a patient outside the user's reach, as the API answers (a 403 would say the patient exists);
    403 only when the role may not do this at all."""
    action_require(user=user, action=action)
    if not patient_visible_to(user=user, patient=patient):
        raise Http404
    _require_role_and_reach(user=user, patient=patient, action=action)


def _scan_or_404(uuid) -> Scan:
    try:
        return scan_get(uuid=uuid)
    except Scan.DoesNotExist as exc:
        raise Http404 from exc


def _upload_target(request) -> tuple[Patient, Appointment | None]:
    appointment_pk, patient_pk = request.GET.get("appointment"), request.GET.get("patient")
    if appointment_pk and appointment_pk.isdigit():
        appointment = get_object_or_404(Appointment.objects.select_related("patient"), pk=appointment_pk)
        return appointment.patient, appointment
    if patient_pk and patient_pk.isdigit():
        return get_object_or_404(Patient, pk=patient_pk), None
    raise Http404("Upload needs ?patient=<pk> or ?appointment=<pk>")


@login_required
@require_http_methods(["GET", "POST"])
def scan_upload(request):
    patient, appointment = _upload_target(request)
    patient_scans_require(user=request.user, patient=patient, action="add")
    initial = {"appointment": appointment, "acquired_on": timezone.localdate()}
    if appointment is not None:
        initial["acquired_on"] = timezone.localtime(appointment.start).date()
    # Bound on every POST, even an empty one (an empty QueryDict is falsy: `or None` left it unbound).
    form = ScanUploadForm(request.POST if request.method == "POST" else None, patient=patient, initial=initial)
    outcomes = None
    status = 200
    if request.method == "POST":
        uploads = request.FILES.getlist("files")
        if not uploads:
            form.add_error("files", "Choose at least one file.")
        if form.is_valid():
            outcomes = scans_upload_batch(
                patient=patient,
                eye=form.cleaned_data["eye"],
                acquired_on=form.cleaned_data["acquired_on"],
                appointment=form.cleaned_data["appointment"],
                uploads=uploads,
                uploaded_by=request.user,
                confirm_identity_mismatch=form.cleaned_data["confirm_identity_mismatch"],
            )
        else:
            status = 400
        if request.htmx:
            return render(
                request, "scans/partials/upload_results.html", {"outcomes": outcomes, "form": form}, status=status
            )
    context = {
        "patient": patient,
        "appointment": appointment,
        "form": form,
        "outcomes": outcomes,
        "nav": "patients",
        "action_url": request.get_full_path(),
    }
    return render(request, "scans/upload.html", context, status=status)


@login_required
@require_GET
def patient_gallery(request, patient_pk: int):
    patient = get_object_or_404(Patient, pk=patient_pk)
    patient_scans_require(user=request.user, patient=patient)
    return render(request, "scans/gallery.html", {"patient": patient, "nav": "patients"})


def _frame_number(request, scan: Scan) -> int:
    """1-based frame shown; defaults to the first AI frame (the central B-scan unless changed)."""
    raw = request.GET.get("frame", "")
    if raw.isdigit() and 1 <= int(raw) <= scan.frame_count:
        return int(raw)
    return (scan.ai_frames[0] if scan.ai_frames else scan.default_frame) + 1


def _frame_context(scan: Scan, frame: int, frame_form=None) -> dict:
    if scan.is_volume:
        image_url = reverse("scans:frame", kwargs={"uuid": scan.uuid, "number": frame})
    else:
        image_url = reverse("scans:file", kwargs={"uuid": scan.uuid, "kind": "preview"})
    ai_frames = [i + 1 for i in scan.ai_frames]
    return {
        "scan": scan,
        "frame": frame,
        "image_url": image_url,
        "image_alt": f"Scan #{scan.pk}, frame {frame} of {scan.frame_count}" if scan.is_volume else f"Scan #{scan.pk}",
        "previous_frame": frame - 1 if frame > 1 else None,
        "next_frame": frame + 1 if frame < scan.frame_count else None,
        "frame_is_ai": frame in ai_frames,
        "heatmap": None,  # the reading of this frame whose heatmap is laid over it; scan_detail finds it
        "ai_frames_display": frames_display(scan.ai_frames),
        "frame_form": frame_form
        or FrameSelectForm(initial={"frames": frames_display(scan.ai_frames)}, frame_count=scan.frame_count),
    }


@login_required
@require_GET
def scan_detail(request, uuid):
    scan = _scan_or_404(uuid)
    patient_scans_require(user=request.user, patient=scan.patient)
    frame = _frame_number(request, scan)
    context = _frame_context(scan, frame)
    context["can_choose_frames"] = patient_scans_allowed(
        user=request.user, patient=scan.patient, action="choose_frames"
    )
    context.update(_ai_context(request, scan, badge=True))
    context["ai_badge_oob"] = False  # the page renders the badge in its header itself
    context["heatmap"] = frame_heatmap(context["predictions"], frame - 1)
    if request.htmx and request.htmx.target == "frame-viewer":
        return _private(render(request, "scans/partials/frame_viewer.html", context))
    accessed.send(sender=Scan, instance=scan)
    try:
        dicom = scan.dicom
    except Scan.dicom.RelatedObjectDoesNotExist:
        dicom = None
    context.update(
        {
            "patient": scan.patient,
            "dicom": dicom,
            "same_eye_count": scans_of_eye(patient=scan.patient, eye=scan.eye).exclude(pk=scan.pk).count(),
            "nav": "patients",
        }
    )
    return _private(render(request, "scans/detail.html", context))


@login_required
@require_POST
def scan_ai_frames(request, uuid):
    scan = _scan_or_404(uuid)
    patient_scans_require(user=request.user, patient=scan.patient, action="choose_frames")
    form = FrameSelectForm(request.POST, frame_count=scan.frame_count)
    frame = _frame_number(request, scan)
    if form.is_valid():
        try:
            scan = scan_frames_select(scan=scan, frames=form.cleaned_data["frames"], user=request.user)
        except IntakeError as exc:
            form.add_error("frames", exc.reason)
    if request.htmx:
        context = _frame_context(scan, frame, frame_form=form if form.errors else None)
        context["can_choose_frames"] = True
        context["saved"] = not form.errors
        return _private(
            render(request, "scans/partials/frame_viewer.html", context, status=400 if form.errors else 200)
        )
    if form.errors:
        return HttpResponseBadRequest("; ".join(e for errors in form.errors.values() for e in errors))
    return redirect(f"{reverse('scans:detail', kwargs={'uuid': scan.uuid})}?frame={frame}")


def _integrity_failure(scan: Scan) -> HttpResponse:
    logger.error("scan %s: stored file failed its integrity check", scan.pk)
    return _private(
        HttpResponse(
            "This image failed its integrity check (the stored file no longer matches its checksum) and is not "
            "shown. The incident has been logged.",
            status=500,
            content_type="text/plain; charset=utf-8",
        )
    )


@login_required
@require_GET
def scan_file(request, uuid, kind: str):
    if kind not in FILE_KINDS:
        raise Http404
    scan = _scan_or_404(uuid)
    patient_scans_require(user=request.user, patient=scan.patient)
    try:
        opened = scan_file_open(scan=scan, kind=kind)
    except FileNotFoundError as exc:
        raise Http404 from exc
    except IntegrityError:
        return _integrity_failure(scan)
    if kind in ("original", "deidentified"):
        accessed.send(sender=Scan, instance=scan)
    response = FileResponse(
        opened.handle,
        content_type=opened.content_type,
        as_attachment=kind in ("original", "deidentified"),
        filename=opened.download_name,
    )
    return _private(response)


@login_required
@require_GET
def scan_frame(request, uuid, number: int):
    scan = _scan_or_404(uuid)
    patient_scans_require(user=request.user, patient=scan.patient)
    try:
        png = scan_frame_png(scan=scan, index=number - 1)
    except IndexError as exc:
        raise Http404 from exc
    except IntegrityError:
        return _integrity_failure(scan)
    return _private(HttpResponse(png, content_type="image/png"))


def _pick(scans: list[Scan], uuid: str | None, fallback: Scan | None) -> Scan | None:
    for scan in scans:
        if uuid and str(scan.uuid) == uuid:
            return scan
    return fallback


@login_required
@require_GET
def scan_compare(request, patient_pk: int):
    """Two visits of one eye side by side; defaults to the two most recent scans of that eye."""
    patient = get_object_or_404(Patient, pk=patient_pk)
    patient_scans_require(user=request.user, patient=patient)
    eye = request.GET.get("eye") if request.GET.get("eye") in Eye.values else None
    if eye is None:
        latest = patient_scans_list(patient=patient).first()
        eye = latest.eye if latest else Eye.OD
    scans = list(scans_of_eye(patient=patient, eye=eye))
    right = _pick(scans, request.GET.get("right"), scans[0] if scans else None)
    left = _pick(scans, request.GET.get("left"), scans[1] if len(scans) > 1 else None)
    for scan in (left, right):
        if scan is not None:
            accessed.send(sender=Scan, instance=scan)
    context = {
        "patient": patient,
        "eye": eye,
        "eyes": Eye.choices,
        "scans": scans,
        "left": left,
        "right": right,
        "nav": "patients",
    }
    return _private(render(request, "scans/compare.html", context))


def _ai_context(request, scan: Scan, *, badge: bool = False) -> dict:
    """``badge``: the panel sits on the scan page, whose header shows the AI status too. The panel's polls and its
    retry then carry ``?badge=1`` and their answers send the header badge out of band, or the header would still say
    "queued" beside the finished reading. The review page has no such badge, so its polls ask for none."""
    predictions = scan_predictions_current(scan=scan) if scan.ai_status == AiStatus.CLASSIFIED else []
    return {
        "scan": scan,
        "ai_badge": badge,
        "ai_badge_oob": badge and bool(request.htmx),
        "predictions": predictions,
        "can_retry": patient_scans_allowed(user=request.user, patient=scan.patient, action="add"),
        "ai_polling": {AiStatus.QUEUED: "every 2s", AiStatus.AWAITING_MODEL: "every 30s"}.get(scan.ai_status, ""),
        "frame_swap": True,  # the scan page: a reading's frame opens in its frame viewer, not a new page
    }


@login_required
@require_GET
def scan_ai_status(request, uuid):
    """The AI panel alone, polled by htmx while a reading is pending."""
    scan = _scan_or_404(uuid)
    patient_scans_require(user=request.user, patient=scan.patient)
    context = _ai_context(request, scan, badge=request.GET.get("badge") == "1")
    return _private(render(request, "scans/partials/ai_status.html", context))


@login_required
@require_POST
def scan_ai_retry(request, uuid):
    scan = _scan_or_404(uuid)
    patient_scans_require(user=request.user, patient=scan.patient, action="add")
    scan = scan_classification_retry(scan=scan, user=request.user)
    if request.htmx:
        context = _ai_context(request, scan, badge=request.GET.get("badge") == "1")
        return _private(render(request, "scans/partials/ai_status.html", context))
    return redirect("scans:detail", uuid=scan.uuid)


@login_required
@require_GET
def scan_heatmap(request, uuid, prediction_pk: int):
    """The Grad-CAM overlay, under the same patient access check as every other scan file."""
    scan = _scan_or_404(uuid)
    patient_scans_require(user=request.user, patient=scan.patient)
    prediction = get_object_or_404(scan.predictions, pk=prediction_pk)
    try:
        handle = prediction_heatmap_open(prediction=prediction)
    except FileNotFoundError as exc:
        raise Http404 from exc
    except IntegrityError:
        return _integrity_failure(scan)
    return _private(FileResponse(handle, content_type="image/png"))
