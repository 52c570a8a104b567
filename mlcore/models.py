"""The model registry. mlcore knows images, labels and models; it never knows patients."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        CANDIDATE = "candidate", "Candidate"
        DEPLOYED = "deployed", "Deployed"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    version = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE, db_index=True)
    artifact_path = models.CharField(max_length=500, help_text="The .keras artifact in default storage.")
    card = models.JSONField(default=dict, blank=True, help_text="Copy of card.json, for display and audit.")
    created_at = models.DateTimeField(auto_now_add=True)
    deployed_at = models.DateTimeField(null=True, blank=True, help_text="When it last became the deployed version.")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database itself guarantees a single deployed version, whatever races between admins.
            models.UniqueConstraint(fields=["status"], condition=Q(status="deployed"), name="mlcore_single_deployed")
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.status})"
