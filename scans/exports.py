"""Export endpoints: reviewed results (CSV/JSON, optionally de-identified) and the PDF visit report.

Both go through ``scans.access`` like every scan page: exports list only the user's visible patients, and the
report answers 403 for a patient outside the user's reach.
"""

from __future__ import annotations

import datetime as dt
import logging

from auditlog.signals import accessed
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_GET

from patients.eyes import Eye
from patients.models import Patient

from .access import action_require, patient_scans_require
from .review_export import reviews_export_csv, reviews_export_rows
from .visit_report import visit_report_pdf

PRIVATE = "private, no-store"
logger = logging.getLogger(__name__)


@login_required
@require_GET
def reviews_export_view(request, fmt: str):
    if fmt not in ("csv", "json"):
        raise Http404
    action_require(user=request.user, action="export")
    deidentified = request.GET.get("deidentified", "") in ("1", "true", "yes", "on")
    rows = reviews_export_rows(user=request.user, deidentified=deidentified)
    # Who took which data out: ids and counts only, never the data itself.
    logger.info("reviews export: user #%s, %s rows, %s, deidentified=%s", request.user.pk, len(rows), fmt, deidentified)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    name = f"reviews-{'deidentified-' if deidentified else ''}{stamp}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(
            reviews_export_csv(rows=rows, deidentified=deidentified), content_type="text/csv; charset=utf-8"
        )
    else:
        payload = {
            "generated_at": timezone.now().astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "deidentified": deidentified,
            "count": len(rows),
            "results": rows,
        }
        response = JsonResponse(payload, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = PRIVATE
    return response


@login_required
@require_GET
def visit_report_view(request, patient_pk: int, eye: str):
    if eye not in Eye.values:
        raise Http404
    patient = get_object_or_404(Patient, pk=patient_pk)
    patient_scans_require(user=request.user, patient=patient)
    day = None
    if request.GET.get("day"):
        try:
            day = dt.date.fromisoformat(request.GET["day"])
        except ValueError:
            return HttpResponse("The day must be a date like 2026-01-31.", status=400, content_type="text/plain")
    accessed.send(sender=Patient, instance=patient)
    pdf = visit_report_pdf(patient=patient, eye=eye, day=day, clinic_name=getattr(settings, "CLINIC_NAME", ""))
    response = HttpResponse(pdf, content_type="application/pdf")
    # The file name names the record by id only: names are PHI and file names end up in download folders.
    response["Content-Disposition"] = f'inline; filename="visit-report-{patient.pk}-{eye}.pdf"'
    response["Cache-Control"] = PRIVATE
    return response
