"""Registry admin: see versions and their cards, deploy or roll back through the services (never by editing).

Deploy and roll back need a written reason and show what changes, so the admin's actions lead to the same
confirmation pages as /models/; gating is queued for the training worker through the same service (and rule).
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.utils.html import format_html

from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelAction, ModelVersion, TrainingDataset, TrainingRun
from mlcore.services import model_version_gate_request, model_version_shadow_set, training_run_cancel


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "status", "synthetic", "created_at", "deployed_at", "temperature", "runtime_exports")
    list_filter = ("status",)
    search_fields = ("version", "notes")
    readonly_fields = ("version", "status", "artifact_path", "created_at", "deployed_at", "card_pretty")
    fields = ("version", "status", "artifact_path", "created_at", "deployed_at", "notes", "card_pretty")
    actions = ("deploy_selected", "rollback", "gate_selected", "shadow_selected")

    def has_add_permission(self, request) -> bool:
        return False  # versions are registered by the training pipeline, with their artifacts

    @admin.display(description="synthetic demo model", boolean=True)
    def synthetic(self, obj: ModelVersion) -> bool:
        return obj.is_synthetic

    @admin.display(description="temperature")
    def temperature(self, obj: ModelVersion):
        return obj.card.get("temperature")

    @admin.display(description="exports")
    def runtime_exports(self, obj: ModelVersion) -> str:
        return ", ".join(obj.card.get("exports", {})) or "-"

    @admin.display(description="model card")
    def card_pretty(self, obj: ModelVersion):
        return format_html("<pre>{}</pre>", json.dumps(obj.card, indent=2, sort_keys=True))

    @admin.action(description="Deploy the selected version…")
    def deploy_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to deploy.", messages.ERROR)
            return None
        # The reason, the deploy checks and the gate's comparison are on the confirmation page.
        return redirect("mlcore:deploy", version=queryset.get().version)

    @admin.action(description="Roll back to the previously deployed version…")
    def rollback(self, request, queryset):
        return redirect("mlcore:rollback")

    @admin.action(description="Compare with the deployed model (promotion gate, in the background)")
    def gate_selected(self, request, queryset):
        for version in queryset:
            try:
                job = model_version_gate_request(model_version=version, actor=request.user, via="admin")
            except ModelVersionUnavailable as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{version.version}: gate queued (job #{job.pk}).", messages.INFO)

    @admin.action(description="Run the selected candidate in shadow mode")
    def shadow_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one candidate.", messages.ERROR)
            return
        try:
            version = model_version_shadow_set(
                model_version=queryset.get(), shadow=True, actor=request.user, via="admin"
            )
        except ModelVersionUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{version.version} now runs in shadow mode.", messages.SUCCESS)


@admin.register(ModelAction)
class ModelActionAdmin(admin.ModelAdmin):
    """Read-only: the record of registry actions is appended by the services, never edited."""

    list_display = ("created_at", "action", "model_version", "from_version", "to_version", "actor_name", "via")
    list_filter = ("action", "via")
    search_fields = ("from_version", "to_version", "actor_name", "reason")
    readonly_fields = [f.name for f in ModelAction._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "status", "trigger", "epoch", "epochs_total", "model_version", "created_at", "finished_at")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in TrainingRun._meta.fields]
    actions = ("cancel_selected",)

    def has_add_permission(self, request) -> bool:
        return False  # started from the AI models page, the command or the schedule, through the services

    @admin.action(description="Cancel the selected runs")
    def cancel_selected(self, request, queryset):
        for run in queryset.filter(status__in=TrainingRun.ACTIVE):
            training_run_cancel(run=run, actor=request.user, via="admin")
        self.message_user(request, "Cancellation requested.", messages.SUCCESS)


@admin.register(TrainingDataset)
class TrainingDatasetAdmin(admin.ModelAdmin):
    list_display = ("pk", "source", "content_hash", "created_at")
    readonly_fields = ("source", "content_hash", "class_counts", "class_weights", "groups", "created_at")
    exclude = ("items",)

    def has_add_permission(self, request) -> bool:
        return False
