"""Doctors approve and correct AI readings in the admin too: the prediction list with filters, a bulk
"approve selected" action, and a per-reading correction page.

The list shows only readings of patients the user may see (``patients.access``); the action and the
correction page are doctors-only (``scans.review_scan``), and the review service re-checks both rules for
every reading, so a crafted POST gets no further than the page would.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from mlcore.selectors import model_version_notice, model_version_provenance
from octclinic.form_errors import form_service_errors_add
from patients.access import rows_of_visible_patients

from .access import action_allowed
from .models import Prediction, Review
from .review import predictions_approve_bulk, review_decide
from .review_forms import ReviewDecisionForm
from .review_selectors import second_opinion_open_request


class ReviewStatusFilter(admin.SimpleListFilter):
    title = "review status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("unreviewed", "Awaiting review"), ("reviewed", "Reviewed")]

    def queryset(self, request, queryset):
        primary = Review.objects.filter(scan=OuterRef("scan_id"), is_second_opinion=False)
        if self.value() == "unreviewed":
            return queryset.filter(~Exists(primary))
        if self.value() == "reviewed":
            return queryset.filter(Exists(primary))
        return queryset


ROUNDED = {
    "confidence": "confidence_shown",
    "uncertainty": "uncertainty_shown",
    "probabilities": "probabilities_shown",
    "model_ms": "model_ms_shown",
}


def probabilities_compact(probabilities) -> str:
    """ "CNV 0.97 · DME 0.02 · DRUSEN <0.01 · NORMAL 0.00": two decimals, and a probability too small to round
    to 0.01 says so instead of a row of zeros or of digits."""
    parts = []
    for name, value in (probabilities or {}).items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            parts.append(f"{name} {value}")
            continue
        parts.append(f"{name} <0.01" if 0 < value < 0.005 else f"{name} {value:.2f}")
    return " · ".join(parts) or "—"


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "scan_link",
        "ai_reading",
        "confidence_shown",
        "uncertainty_shown",
        "urgency",
        "model_shown",
        "review_link",
    )
    list_filter = (
        ReviewStatusFilter,
        "label",
        "urgency",
        "deferred",
        "recognised",
        "model_version",
        "needs_careful_review",
    )
    list_select_related = ("scan", "model_version")
    # Raw floats read like 0.00000000005992220208282434 (Django's number format writes every digit): the numbers
    # are shown rounded, as the scan page shows them, on the list and on the reading's page.
    exclude = tuple(ROUNDED)
    readonly_fields = [ROUNDED.get(f.name, f.name) for f in Prediction._meta.fields]
    actions = ["approve_selected"]
    ordering = ("-created_at",)

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_shown(self, obj):
        return f"{obj.confidence:.2f}"

    @admin.display(description="Uncertainty", ordering="uncertainty")
    def uncertainty_shown(self, obj):
        return f"{obj.uncertainty:.2f}"

    @admin.display(description="Probabilities")
    def probabilities_shown(self, obj):
        return probabilities_compact(obj.probabilities)

    @admin.display(description="Model time")
    def model_ms_shown(self, obj):
        return f"{obj.model_ms:.0f} ms"

    @admin.display(description="Scan", ordering="scan_id")
    def scan_link(self, obj):
        """The frame only for a volume (a single image's is always 1): a column of its own made the list too wide
        for a 1366 px screen."""
        text = f"Scan #{obj.scan_id} ({obj.scan.eye})"
        return f"{text}, frame {obj.frame + 1}" if obj.scan.frame_count > 1 else text

    @admin.display(description="Model", ordering="model_version")
    def model_shown(self, obj):
        """The version's name; its status is a filter of its own and made the column twice as wide."""
        return obj.model_version.version

    @admin.display(description="AI reading", ordering="label")
    def ai_reading(self, obj):
        """The label only where the AI suggested one (a deferred reading is read without it), and the model's
        notice when it is not for clinical use (the card is on the row already: no query)."""
        text = obj.label if obj.suggests else obj.outcome_text
        notice = model_version_notice(model_version=obj.model_version)
        return f"{text} ({notice})" if notice else text

    @admin.display(description="Review")
    def review_link(self, obj):
        url = reverse("admin:scans_prediction_review", args=[obj.pk])
        return format_html('<a href="{}" style="white-space: nowrap">approve / correct</a>', url)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if self.has_review_permission(request) else [f for f in shown if f != "review_link"]

    def get_queryset(self, request):
        return rows_of_visible_patients(super().get_queryset(request), request.user, field="scan__patient")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request) -> bool:
        return action_allowed(user=request.user, action="review")

    @admin.action(description="Approve selected readings", permissions=["review"])
    def approve_selected(self, request, queryset):
        approved, skipped = predictions_approve_bulk(
            predictions=queryset.select_related("scan", "scan__patient"), reviewer=request.user
        )
        self.message_user(request, f"{approved} reading(s) approved.", messages.SUCCESS)
        for reason in skipped[:20]:
            self.message_user(request, reason, messages.WARNING)

    def get_urls(self):
        custom = [
            path(
                "<int:pk>/review/",
                self.admin_site.admin_view(self.review_view),
                name="scans_prediction_review",
            )
        ]
        return custom + super().get_urls()

    def review_view(self, request, pk: int):
        """Approve, correct to another label or mark ungradable one reading (403 for non-doctors)."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        prediction = get_object_or_404(self.get_queryset(request).select_related("scan__patient"), pk=pk)
        form = ReviewDecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                review = review_decide(
                    scan=prediction.scan,
                    reviewer=request.user,
                    decision=form.cleaned_data["decision"],
                    label=form.cleaned_data["label"],
                    note=form.cleaned_data["note"],
                    prediction=prediction,
                )
            except ValidationError as exc:
                form_service_errors_add(form, exc)
            else:
                what = "second opinion" if review.is_second_opinion else "decision"
                self.message_user(request, f"Prediction #{prediction.pk}: {what} saved.", messages.SUCCESS)
                return redirect(reverse("admin:scans_prediction_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Review prediction #{prediction.pk}",
            "prediction": prediction,
            "provenance": model_version_provenance(model_version=prediction.model_version),
            # The same rule as the review page: a doctor asked for a second opinion gives one (review_decide).
            "second_opinion_asked": second_opinion_open_request(scan=prediction.scan, user=request.user),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "scans/admin/prediction_review.html", context, status=400 if form.errors else 200
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_review": self.has_review_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)
