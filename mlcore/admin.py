"""Registry admin: see versions and their cards, deploy or roll back through the services (never by editing)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion, TrainingDataset, TrainingRun
from mlcore.services import (
    model_version_deploy,
    model_version_gate,
    model_version_rollback,
    model_version_shadow_set,
    training_run_cancel,
)


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

    @admin.action(description="Deploy the selected version")
    def deploy_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to deploy.", messages.ERROR)
            return
        try:
            version = model_version_deploy(model_version=queryset.get())
        except ModelVersionUnavailable as exc:
            self.message_user(request, f"Deploy refused: {exc}", messages.ERROR)
            return
        self.message_user(request, f"{version.version} is now deployed.", messages.SUCCESS)

    @admin.action(description="Roll back to the previously deployed version")
    def rollback(self, request, queryset):
        try:
            version = model_version_rollback()
        except ModelVersionUnavailable as exc:
            self.message_user(request, f"Rollback failed: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Rolled back: {version.version} is deployed again.", messages.SUCCESS)

    @admin.action(description="Compare with the deployed model (promotion gate)")
    def gate_selected(self, request, queryset):
        for version in queryset.filter(status=ModelVersion.Status.CANDIDATE):
            decision = model_version_gate(candidate=version)
            level = messages.SUCCESS if decision.passed else messages.WARNING
            self.message_user(request, f"{version.version}: {decision.reason}", level)

    @admin.action(description="Run the selected candidate in shadow mode")
    def shadow_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one candidate.", messages.ERROR)
            return
        try:
            version = model_version_shadow_set(model_version=queryset.get(), shadow=True)
        except ModelVersionUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{version.version} now runs in shadow mode.", messages.SUCCESS)


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
            training_run_cancel(run=run)
        self.message_user(request, "Cancellation requested.", messages.SUCCESS)


@admin.register(TrainingDataset)
class TrainingDatasetAdmin(admin.ModelAdmin):
    list_display = ("pk", "source", "content_hash", "created_at")
    readonly_fields = ("source", "content_hash", "class_counts", "class_weights", "groups", "created_at")
    exclude = ("items",)

    def has_add_permission(self, request) -> bool:
        return False
