"""Staff pages of DICOM networking: the reconciliation list (technicians) and a patient's PACS studies.

Thin: access checks (``scans.access``), forms, and calls into ``reconciliation`` / ``pacs`` /
``pacs_services``. Patients are chosen by MRN in a POSTed form, never put in a URL.
"""

from __future__ import annotations

from auditlog.signals import accessed
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from patients.access import VIEW_ALL_PERMISSION
from patients.models import Patient

from .access import action_allowed, patient_scans_allowed, patient_scans_require
from .dicom_forms import ReconciliationAssignForm, VisitReportForm
from .errors import IntakeError
from .models import ReceivedInstance
from .pacs import PacsError, pacs_configured, pacs_studies_find
from .pacs_services import pacs_retrieval_request, pacs_retrievals_for_patient, pacs_visit_report_store
from .reconciliation import (
    received_instance_assign,
    received_instance_discard,
    received_instance_get_pending,
    received_instances_pending,
)


def _reconciliation_require(user) -> None:
    """Assigning an image to a patient needs upload rights and reach to every patient (technicians, admins)."""
    if not (action_allowed(user=user, action="add") and user.has_perm(VIEW_ALL_PERMISSION)):
        raise PermissionDenied


@login_required
def reconciliation_list_view(request):
    _reconciliation_require(request.user)
    context = {"instances": received_instances_pending(), "nav": "reconciliation"}
    return render(request, "scans/reconciliation_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def reconciliation_assign_view(request, uuid):
    _reconciliation_require(request.user)
    try:
        instance = received_instance_get_pending(uuid=uuid)
    except ReceivedInstance.DoesNotExist as exc:
        raise Http404("This instance is not waiting for reconciliation") from exc
    accessed.send(sender=ReceivedInstance, instance=instance)
    initial = {"eye": instance.laterality or None, "mrn": instance.header_patient_id[:20]}
    form = ReconciliationAssignForm(request.POST or None, initial=initial)
    if request.method == "POST" and request.POST.get("discard"):
        try:
            received_instance_discard(instance=instance, user=request.user)
        except IntakeError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "The instance was discarded.")
        return redirect("scans:reconciliation")
    if request.method == "POST" and form.is_valid():
        try:
            scan = received_instance_assign(
                instance=instance,
                patient=form.patient,
                eye=form.cleaned_data["eye"],
                user=request.user,
                confirm_identity_mismatch=form.cleaned_data["confirm_identity_mismatch"],
            )
        except IntakeError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Stored as scan #{scan.pk} of the chosen patient.")
            return redirect("scans:reconciliation")
    return render(
        request, "scans/reconciliation_assign.html", {"instance": instance, "form": form, "nav": "reconciliation"}
    )


@login_required
def pacs_studies_view(request, patient_pk: int):
    patient = get_object_or_404(Patient, pk=patient_pk)
    patient_scans_require(user=request.user, patient=patient, action="view")
    accessed.send(sender=Patient, instance=patient)
    studies, error = [], ""
    if not pacs_configured():
        error = "No PACS is configured for this clinic (PACS_HOST)."
    else:
        try:
            studies = pacs_studies_find(patient_id=patient.mrn)
        except PacsError as exc:
            error = f"The PACS could not be queried: {exc}."
    context = {
        "patient": patient,
        "studies": studies,
        "error": error,
        "retrievals": pacs_retrievals_for_patient(patient=patient),
        "report_form": VisitReportForm(),
        "may_send_report": patient_scans_allowed(user=request.user, patient=patient, action="review"),
        "nav": "patients",
    }
    return render(request, "scans/pacs_studies.html", context)


@login_required
@require_POST
def pacs_retrieve_view(request, patient_pk: int):
    patient = get_object_or_404(Patient, pk=patient_pk)
    patient_scans_require(user=request.user, patient=patient, action="view")
    try:
        pacs_retrieval_request(
            patient=patient, study_instance_uid=request.POST.get("study_instance_uid", ""), user=request.user
        )
    except IntakeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Retrieval queued; the study appears in the record when it has arrived.")
    return redirect("scans:pacs_studies", patient_pk=patient.pk)


@login_required
@require_POST
def pacs_report_store_view(request, patient_pk: int):
    """A doctor sends the signed-off visit report of one eye to the PACS (Encapsulated PDF)."""
    patient = get_object_or_404(Patient, pk=patient_pk)
    patient_scans_require(user=request.user, patient=patient, action="review")
    form = VisitReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the eye (and a valid day) of the visit report.")
        return redirect("scans:pacs_studies", patient_pk=patient.pk)
    try:
        pacs_visit_report_store(
            patient=patient, eye=form.cleaned_data["eye"], day=form.cleaned_data["day"], user=request.user
        )
    except IntakeError as exc:
        messages.error(request, f"The report was not sent: {exc.message}.")
    except PacsError as exc:
        messages.error(request, f"The report was not sent: {exc}.")
    else:
        messages.success(request, "The visit report was stored in the PACS.")
    return redirect("scans:pacs_studies", patient_pk=patient.pk)
