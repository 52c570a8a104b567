"""Admin for devices, opening hours and appointments.

Clinic admins reschedule here too, so the appointment form runs the same booking rules as the staff
pages and records every move with a reason.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from octclinic.form_errors import form_service_errors_add
from patients.access import rows_of_visible_patients

from . import services
from .models import Appointment, AppointmentReschedule, AppointmentStatus, OpeningHours, Resource


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "model_name", "location", "is_active")
    list_filter = ("kind", "is_active")
    inlines = [OpeningHoursInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: appointments refer to it


class AppointmentRescheduleInline(admin.TabularInline):
    model = AppointmentReschedule
    fk_name = "appointment"
    extra = 0
    can_delete = False
    fields = ("changed_at", "changed_by", "old_start", "old_resource", "new_start", "new_resource", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AppointmentAdminForm(forms.ModelForm):
    reschedule_reason = forms.CharField(
        max_length=200, required=False, help_text="Required when you change the time or the device."
    )

    class Meta:
        model = Appointment
        fields = ("patient", "resource", "start", "end", "technician", "reason")

    def clean(self):
        cleaned = super().clean()
        start, end, resource = cleaned.get("start"), cleaned.get("end"), cleaned.get("resource")
        patient = cleaned.get("patient") or getattr(self.instance, "patient", None)
        technician = cleaned.get("technician")
        if technician is not None and technician.pk != getattr(self.instance, "technician_id", None):
            try:
                services.technician_validate(technician)
            except ValidationError as exc:
                form_service_errors_add(self, exc)
        if not (start and end and resource and patient):
            return cleaned
        if self.instance.pk:
            moved = (start, end, resource.pk) != (self.instance.start, self.instance.end, self.instance.resource_id)
            if not moved:
                return cleaned
            if self.instance.status != AppointmentStatus.SCHEDULED:
                raise ValidationError(f"A {self.instance.get_status_display().lower()} appointment can't be moved.")
            if not cleaned.get("reschedule_reason", "").strip():
                self.add_error("reschedule_reason", "Say why the appointment is moved.")
        try:
            services.slot_validate(
                resource=resource,
                patient=patient,
                start=start,
                end=end,
                exclude=self.instance if self.instance.pk else None,
            )
        except ValidationError as exc:
            form_service_errors_add(self, exc)
        return cleaned


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    form = AppointmentAdminForm
    list_display = ("start", "end", "resource", "patient_mrn", "status", "technician")
    list_filter = ("status", "resource", ("start", admin.DateFieldListFilter))
    date_hierarchy = "start"
    search_fields = ("=patient__mrn",)
    list_select_related = ("patient", "resource", "technician")
    raw_id_fields = ("patient",)
    readonly_fields = ("status", "checked_in_at", "completed_at", "cancelled_at", "cancellation_reason", "created_by")
    inlines = [AppointmentRescheduleInline]
    actions = ["cancel_selected"]

    @admin.display(description="MRN", ordering="patient__mrn")
    def patient_mrn(self, obj):
        return obj.patient.mrn

    def get_queryset(self, request):
        return rows_of_visible_patients(super().get_queryset(request), request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("patient")  # an appointment never changes hands; book a new one
        return fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cancel instead, so the history stays

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "technician":
            kwargs["queryset"] = services.technicians_active()  # the service's rule, as the booking form's
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            saved = services.appointment_book(
                patient=data["patient"],
                resource=data["resource"],
                start=data["start"],
                end=data["end"],
                technician=data.get("technician"),
                reason=data.get("reason", ""),
                booked_by=request.user,
            )
            obj.pk = saved.pk
            return
        current = Appointment.objects.get(pk=obj.pk)
        if (data["start"], data["end"], data["resource"].pk) != (current.start, current.end, current.resource_id):
            services.appointment_reschedule(
                appointment=current,
                start=data["start"],
                end=data["end"],
                resource=data["resource"],
                reason=data["reschedule_reason"],
                changed_by=request.user,
            )
        # Through the service, never .update(): the same rule as the staff pages, and the audit log sees the change.
        services.appointment_details_change(
            appointment=current,
            technician=data.get("technician"),
            reason=data.get("reason", ""),
            changed_by=request.user,
        )

    @admin.action(description="Cancel selected appointments", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        done, refused = 0, 0
        for appointment in queryset:
            try:
                services.appointment_cancel(
                    appointment=appointment, cancelled_by=request.user, reason="Cancelled in admin"
                )
                done += 1
            except ValidationError:
                refused += 1
        self.message_user(request, f"{done} cancelled, {refused} could not be cancelled.", messages.INFO)

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("scheduling.cancel_appointment")
