"""Patient pages.

Search terms are PHI (names, birth dates), so the search form is POSTed and never lands in a URL,
a server log or the browser history; plain listing and paging use GET.
"""

from auditlog.signals import accessed
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from octclinic.form_errors import form_service_errors_add

from . import services
from .access import patient_require_visible, patients_visible_to
from .forms import PatientForm, PatientSearchForm
from .models import Patient
from .selectors import patient_search
from .timeline import patient_timeline

PAGE_SIZE = 25


def _apply_service_errors(form, exc: ValidationError) -> None:
    form_service_errors_add(form, exc)


@login_required
@permission_required("patients.view_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_list_view(request):
    if request.method == "POST":
        form = PatientSearchForm(request.POST)
        page_number = request.POST.get("page") or 1
    else:
        form = PatientSearchForm()
        page_number = request.GET.get("page") or 1
    query, include_archived = "", False
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"]
        include_archived = form.cleaned_data["include_archived"]
    patients = patient_search(
        query=query, include_archived=include_archived, base=patients_visible_to(request.user)
    ).only("pk", "mrn", "first_name", "last_name", "date_of_birth", "sex", "is_archived")
    page = Paginator(patients, PAGE_SIZE).get_page(page_number)
    context = {"form": form, "page": page, "query": query, "searching": bool(query), "nav": "patients"}
    template = "patients/partials/results.html" if request.htmx else "patients/list.html"
    return render(request, template, context)


@login_required
@permission_required("patients.add_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_create_view(request):
    form = PatientForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, "Patient registered.")
            return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/form.html", {"form": form, "nav": "patients", "creating": True})


@login_required
@permission_required("patients.view_patient", raise_exception=True)
def patient_detail_view(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    patient_require_visible(user=request.user, patient=patient)
    accessed.send(sender=Patient, instance=patient)
    context = {"patient": patient, "timeline": patient_timeline(patient=patient), "nav": "patients"}
    return render(request, "patients/detail.html", context)


@login_required
@permission_required("patients.change_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_edit_view(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    patient_require_visible(user=request.user, patient=patient)
    form = PatientForm(request.POST if request.method == "POST" else None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(patient=patient, updated_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, "Patient details saved.")
            return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/form.html", {"form": form, "patient": patient, "nav": "patients"})


@login_required
@permission_required("patients.archive_patient", raise_exception=True)
@require_POST
def patient_archive_view(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    patient_require_visible(user=request.user, patient=patient)
    if request.POST.get("restore"):
        services.patient_restore(patient=patient, restored_by=request.user)
        messages.success(request, "Patient restored to the active list.")
    else:
        services.patient_archive(patient=patient, archived_by=request.user)
        messages.success(request, "Patient archived. The record and its history are kept.")
    return redirect("patients:detail", pk=patient.pk)
