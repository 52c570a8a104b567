"""Schedule pages: day and week views, booking, rescheduling, cancelling and check-in."""

from __future__ import annotations

import contextlib
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from patients.access import patient_ids_visible_to, patient_require_visible
from patients.models import Patient

from . import selectors, services
from .forms import AppointmentBookForm, AppointmentCancelForm, AppointmentRescheduleForm, default_slot
from .models import Appointment


def _parse_day(value: str | None) -> dt.date:
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return timezone.localdate()


@login_required
@permission_required("scheduling.view_appointment", raise_exception=True)
def day_view(request):
    day = _parse_day(request.GET.get("date"))
    columns = selectors.schedule_day(day=day)
    _mask_invisible(request.user, [a for _, appointments in columns for a in appointments])
    context = {
        "day": day,
        "today": timezone.localdate(),
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "columns": columns,
        "nav": "schedule",
    }
    return render(request, "scheduling/day.html", context)


@login_required
@permission_required("scheduling.view_appointment", raise_exception=True)
def week_view(request):
    day = _parse_day(request.GET.get("date"))
    week_start = day - dt.timedelta(days=day.weekday())
    resources = list(selectors.resources_active())
    if not resources:
        return render(request, "scheduling/week.html", {"resources": [], "nav": "schedule"})
    resource = next((r for r in resources if str(r.pk) == request.GET.get("resource")), resources[0])
    days = selectors.schedule_week(week_start=week_start, resource=resource)
    _mask_invisible(request.user, [a for _, appointments in days for a in appointments])
    context = {
        "resources": resources,
        "resource": resource,
        "week_start": week_start,
        "previous_week": week_start - dt.timedelta(days=7),
        "next_week": week_start + dt.timedelta(days=7),
        "days": days,
        "today": timezone.localdate(),
        "nav": "schedule",
    }
    return render(request, "scheduling/week.html", context)


@login_required
@permission_required("scheduling.add_appointment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def appointment_create(request):
    patient = None
    if request.GET.get("patient"):
        try:
            patient = get_object_or_404(Patient, pk=int(request.GET["patient"]))
        except ValueError as exc:
            raise Http404 from exc
    if request.method == "POST":
        form = AppointmentBookForm(request.POST, patient=patient)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.appointment_book(
                    patient=data["patient_mrn"],
                    resource=data["resource"],
                    start=data["start"],
                    end=data["end"],
                    technician=data.get("technician"),
                    reason=data.get("reason", ""),
                    booked_by=request.user,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Appointment booked.")
                return redirect("scheduling:appointment_detail", pk=appointment.pk)
    else:
        initial = default_slot(day=_parse_day(request.GET.get("date")))
        resource_id = request.GET.get("resource")
        if resource_id and resource_id.isdigit():
            initial["resource"] = int(resource_id)
        if request.GET.get("time"):
            with contextlib.suppress(ValueError):  # a malformed time just falls back to the default
                initial.update(default_slot(day=initial["day"], start_time=dt.time.fromisoformat(request.GET["time"])))
        technician_pk = selectors.booking_technician_default(user=request.user)
        if technician_pk is not None:
            initial["technician"] = technician_pk
        form = AppointmentBookForm(initial=initial, patient=patient)
    return render(request, "scheduling/book.html", {"form": form, "patient": patient, "nav": "schedule"})


def _appointment_or_404(pk: int, user) -> Appointment:
    try:
        appointment = selectors.appointment_get(pk=pk)
    except Appointment.DoesNotExist as exc:
        raise Http404 from exc
    patient_require_visible(user=user, patient=appointment.patient)
    return appointment


def _mask_invisible(user, appointments) -> None:
    """Doctors see the whole schedule's slots, but names only of patients they may see (one query); each slot
    also says whether it can be checked in now (the service's rule, ``selectors.appointment_check_in_open``)."""
    visible = patient_ids_visible_to(user)
    now = timezone.now()
    for appointment in appointments:
        appointment.patient_hidden = visible is not None and appointment.patient_id not in visible
        appointment.check_in_open = selectors.appointment_check_in_open(appointment=appointment, now=now)


@login_required
@permission_required("scheduling.view_appointment", raise_exception=True)
def appointment_detail(request, pk: int):
    appointment = _appointment_or_404(pk, request.user)
    appointment.check_in_open = selectors.appointment_check_in_open(appointment=appointment)
    context = {"appointment": appointment, "cancel_form": AppointmentCancelForm(), "nav": "schedule"}
    return render(request, "scheduling/appointment_detail.html", context)


@login_required
@permission_required("scheduling.reschedule_appointment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def appointment_reschedule(request, pk: int):
    appointment = _appointment_or_404(pk, request.user)
    form = AppointmentRescheduleForm(request.POST or None, appointment=appointment)
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_reschedule(
                appointment=appointment,
                resource=form.cleaned_data["resource"],
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                reason=form.cleaned_data["reason"],
                changed_by=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Appointment rescheduled.")
            return redirect("scheduling:appointment_detail", pk=appointment.pk)
    return render(request, "scheduling/reschedule.html", {"form": form, "appointment": appointment, "nav": "schedule"})


def _state_change(request, pk: int, action, success: str, **kwargs):
    appointment = get_object_or_404(Appointment, pk=pk)
    patient_require_visible(user=request.user, patient=appointment.patient)
    try:
        action(appointment=appointment, **kwargs)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    next_url = request.POST.get("next")
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect(reverse("scheduling:appointment_detail", args=[pk]))


@login_required
@permission_required("scheduling.check_in_appointment", raise_exception=True)
@require_POST
def appointment_check_in(request, pk: int):
    return _state_change(request, pk, services.appointment_check_in, "Patient checked in.", checked_in_by=request.user)


@login_required
@permission_required("scheduling.check_in_appointment", raise_exception=True)
@require_POST
def appointment_complete(request, pk: int):
    return _state_change(
        request, pk, services.appointment_complete, "Appointment completed.", completed_by=request.user
    )


@login_required
@permission_required("scheduling.cancel_appointment", raise_exception=True)
@require_POST
def appointment_cancel(request, pk: int):
    form = AppointmentCancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _state_change(
        request, pk, services.appointment_cancel, "Appointment cancelled.", cancelled_by=request.user, reason=reason
    )
