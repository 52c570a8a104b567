from django.contrib import admin, messages

from . import services
from .access import patients_visible_to
from .models import CareTeam, Patient


@admin.register(CareTeam)
class CareTeamAdmin(admin.ModelAdmin):
    """Clinic admins put doctors into teams; a doctor sees the patients of the teams they belong to."""

    list_display = ("name", "member_count", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("members",)

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.members.count()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # patients point at their team; move them first (PROTECT would refuse anyway)


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("mrn", "last_name", "first_name", "date_of_birth", "sex", "is_archived")
    list_filter = ("is_archived", "sex", "care_team")
    search_fields = ("=mrn", "last_name", "first_name")
    readonly_fields = ("is_archived", "archived_at", "created_at", "updated_at", "created_by", "updated_by")
    actions = ["archive_selected"]
    list_select_related = True

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # archive, never delete: scans and decisions hang off the record

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=patients_visible_to(request.user).values("pk"))

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS if name in form.cleaned_data}
        if change:
            services.patient_update(patient=obj, updated_by=request.user, **fields)
        else:
            saved = services.patient_create(created_by=request.user, **fields)
            obj.pk = saved.pk

    @admin.action(description="Archive selected patients", permissions=["archive"])
    def archive_selected(self, request, queryset):
        for patient in queryset:
            services.patient_archive(patient=patient, archived_by=request.user)
        self.message_user(request, f"{queryset.count()} patient(s) archived.", messages.SUCCESS)

    def has_archive_permission(self, request) -> bool:
        return request.user.has_perm("patients.archive_patient")
