"""Admin: read-only views of scans, and the labelled-dataset import with live progress.

Every clinical list is limited by ``patients.access`` (care teams), like the staff pages. The prediction
list, where doctors approve and correct readings, lives in ``review_admin``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from patients.access import rows_of_visible_patients

from .errors import IntakeError
from .forms import DatasetImportForm
from .models import DatasetImport, DicomMetadata, LabelledImage, PacsRetrieval, ReceivedInstance, Scan
from .services import dataset_import_start


class DicomMetadataInline(admin.StackedInline):
    model = DicomMetadata
    can_delete = False
    extra = 0

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    """Scans are created by intake only; the admin looks, it does not edit the clinical record."""

    list_display = ("pk", "patient_id", "eye", "acquired_on", "file_format", "frame_count", "ai_status", "uploaded_at")
    list_filter = ("eye", "file_format", "ai_status")
    search_fields = ("=uuid", "=sha256")
    inlines = [DicomMetadataInline]
    readonly_fields = [f.name for f in Scan._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return rows_of_visible_patients(super().get_queryset(request), request.user)


@admin.register(LabelledImage)
class LabelledImageAdmin(admin.ModelAdmin):
    list_display = ("pk", "label", "split", "source_patient_id", "original_name", "dataset_import")
    list_filter = ("label", "split", "dataset_import")
    search_fields = ("original_name", "=source_patient_id", "=sha256")
    readonly_fields = [f.name for f in LabelledImage._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(DatasetImport)
class DatasetImportAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "name",
        "status",
        "layout",
        "processed",
        "total",
        "imported",
        "duplicates",
        "refused",
        "created_at",
    )
    list_filter = ("status",)
    readonly_fields = [f.name for f in DatasetImport._meta.fields]
    change_list_template = "scans/admin/datasetimport_change_list.html"

    def has_add_permission(self, request):
        return False  # imports start from the "Import a dataset" page, not a blank form

    def get_urls(self):
        own = [
            path("start/", self.admin_site.admin_view(self.start_view), name="scans_datasetimport_start"),
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="scans_datasetimport_progress",
            ),
        ]
        return own + super().get_urls()

    def start_view(self, request):
        if not request.user.has_perm("scans.add_datasetimport"):
            raise PermissionDenied
        form = DatasetImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = dataset_import_start(
                    name=form.cleaned_data["name"],
                    user=request.user,
                    folder=form.cleaned_data["folder"],
                    archive=form.cleaned_data["archive"],
                )
            except IntakeError as exc:
                form.add_error(None, exc.message)
            else:
                messages.info(request, f"Dataset import #{job.pk} queued.")
                return redirect(reverse("admin:scans_datasetimport_progress", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Import a labelled dataset",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "scans/admin/dataset_import_start.html", context)

    def progress_view(self, request, pk: int):
        if not request.user.has_perm("scans.view_datasetimport"):
            raise PermissionDenied
        job = get_object_or_404(DatasetImport, pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "job": job,
            "opts": self.model._meta,
            "title": f"Dataset import #{job.pk}",
            "recent_errors": job.errors[-50:],
        }
        template = "scans/partials/import_progress.html" if request.htmx else "scans/admin/dataset_import_progress.html"
        return TemplateResponse(request, template, context)


class _ReadOnlyAdmin(admin.ModelAdmin):
    """DICOM rows change only through their services (receiver, reconciliation page, PACS task)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReceivedInstance)
class ReceivedInstanceAdmin(_ReadOnlyAdmin):
    """The reconciliation list's rows; assigning happens on the staff page (scans:reconciliation)."""

    list_display = ("pk", "received_at", "reason", "status", "calling_ae_title", "modality", "scan_id")
    list_filter = ("status", "reason")
    readonly_fields = [f.name for f in ReceivedInstance._meta.fields]


@admin.register(PacsRetrieval)
class PacsRetrievalAdmin(_ReadOnlyAdmin):
    list_display = ("pk", "patient_id", "status", "stored", "duplicates", "refused", "requested_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in PacsRetrieval._meta.fields]

    def get_queryset(self, request):
        from patients.access import patients_visible_to

        return super().get_queryset(request).filter(patient__in=patients_visible_to(request.user))


from . import review_admin  # noqa: E402,F401 - registers the prediction review admin
