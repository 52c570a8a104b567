"""Registry admin: see versions and their cards, deploy or roll back through the services (never by editing)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion
from mlcore.services import model_version_deploy, model_version_rollback


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "status", "created_at", "deployed_at", "temperature", "runtime_exports")
    list_filter = ("status",)
    search_fields = ("version", "notes")
    readonly_fields = ("version", "status", "artifact_path", "created_at", "deployed_at", "card_pretty")
    fields = ("version", "status", "artifact_path", "created_at", "deployed_at", "notes", "card_pretty")
    actions = ("deploy_selected", "rollback")

    def has_add_permission(self, request) -> bool:
        return False  # versions are registered by the training pipeline, with their artifacts

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
