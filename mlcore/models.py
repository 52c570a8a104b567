"""The model registry. mlcore knows images, labels and models; it never knows patients."""

from __future__ import annotations

from django.conf import settings
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
        permissions = [("deploy_modelversion", "Can deploy, roll back and shadow model versions")]
        constraints = [
            # The database itself guarantees a single deployed version, whatever races between admins.
            models.UniqueConstraint(fields=["status"], condition=Q(status="deployed"), name="mlcore_single_deployed")
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.status})"

    @property
    def is_synthetic(self) -> bool:
        """Trained on generated phantom B-scans (the demo): never to be mistaken for a clinical model."""
        return bool((self.card or {}).get("training_data", {}).get("synthetic"))


class ModelVersionLifecycle(models.Model):
    """Lifecycle facts about a version that the card (written once, at registration) cannot hold."""

    model_version = models.OneToOneField(ModelVersion, on_delete=models.CASCADE, related_name="lifecycle")
    shadow = models.BooleanField(default=False, help_text="Runs beside the deployed model on new scans.")
    gating_passed = models.BooleanField(null=True, help_text="Result of the automatic promotion check, if any.")
    gating_reason = models.TextField(blank=True)
    gating_report = models.JSONField(default=dict, blank=True)
    evaluation = models.JSONField(default=dict, blank=True, help_text="Held-out test split report.")
    clinic_evaluation = models.JSONField(
        default=dict,
        blank=True,
        help_text="Report on this clinic's frozen test set (the test split of its latest clinic data snapshot), "
        "with the snapshot's id and content hash.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"lifecycle of {self.model_version_id}"


class TrainingDataset(models.Model):
    """A frozen snapshot of what a model learned from: items, labels, by-group split, content hash."""

    source = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64, db_index=True)
    items = models.JSONField(default=list, help_text="[{key, label, group, split, sha256, provenance}]")
    class_counts = models.JSONField(default=dict, help_text="{split: {class: n}}")
    class_weights = models.JSONField(default=dict)
    groups = models.JSONField(default=dict, help_text="{split: number of patients/groups}")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"dataset #{self.pk} ({self.source}, {len(self.items)} items)"


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Started by a clinic admin"
        COMMAND = "command", "manage.py train_model"
        SCHEDULED = "scheduled", "Scheduled retraining"
        DEMO = "demo", "Demo seed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    pipeline = models.CharField(max_length=32, default="oct-classifier", editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    params = models.JSONField(default=dict, blank=True)
    dataset = models.ForeignKey(TrainingDataset, null=True, blank=True, on_delete=models.PROTECT)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL)
    epoch = models.PositiveIntegerField(default=0)
    epochs_total = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    val_metrics = models.JSONField(default=dict, blank=True)
    eta_seconds = models.FloatField(null=True, blank=True)
    log = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True, help_text="The Celery worker that runs (ran) it.")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="mlcore_training_runs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="Heartbeat: every progress report touches it.")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("start_trainingrun", "Can start and cancel model training")]
        constraints = [
            # One training at a time, whatever number of web, beat and worker processes race for it.
            models.UniqueConstraint(
                fields=["pipeline"], condition=Q(status__in=["queued", "running"]), name="mlcore_single_active_run"
            )
        ]

    def __str__(self) -> str:
        return f"training run #{self.pk} ({self.status})"

    @property
    def progress_percent(self) -> int:
        return int(100 * self.epoch / self.epochs_total) if self.epochs_total else 0

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class ShadowReading(models.Model):
    """One new scan read by the shadow candidate beside the deployed model, keyed by the input's checksum only."""

    candidate = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="shadow_readings")
    input_sha256 = models.CharField(max_length=64)
    deployed_version = models.CharField(max_length=64)
    deployed_label = models.CharField(max_length=16)
    candidate_label = models.CharField(max_length=16)
    agrees = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["candidate", "input_sha256"], name="mlcore_shadow_once_per_input")
        ]

    def __str__(self) -> str:
        return f"shadow reading #{self.pk}"


class ModelAction(models.Model):
    """One registry action, as the audit trail and the version's page show it: who, when, which version, from
    which to which, why. Written by the services only (append-only); each row also gets an auditlog entry."""

    class Action(models.TextChoices):
        DEPLOY = "deploy", "Deployed"
        DEPLOY_REFUSED = "deploy_refused", "Deploy refused"
        ROLLBACK = "rollback", "Rolled back"
        RETIRE = "retire", "Retired"
        GATE_REQUESTED = "gate_requested", "Gate requested"
        GATE = "gate", "Gate decided"
        EVALUATION_REQUESTED = "evaluation_requested", "Evaluation requested"
        EVALUATION = "evaluation", "Evaluated"
        SHADOW_ON = "shadow_on", "Shadow mode on"
        SHADOW_OFF = "shadow_off", "Shadow mode off"
        TRAINING_REQUESTED = "training_requested", "Training requested"
        TRAINING_CANCELLED = "training_cancelled", "Training cancelled"

    action = models.CharField(max_length=24, choices=Action.choices)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    from_version = models.CharField(max_length=64, blank=True, help_text="What was deployed (or shadowing) before.")
    to_version = models.CharField(max_length=64, blank=True, help_text="What is deployed (or shadowing) after.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="mlcore_actions"
    )
    actor_name = models.CharField(max_length=150, help_text="Username at the time (kept if the account goes).")
    via = models.CharField(max_length=16, help_text="web, admin, api, command, schedule, demo, worker")
    reason = models.TextField(blank=True)
    override_reason = models.TextField(blank=True, help_text="Why the deploy checks were overridden, if they were.")
    details = models.JSONField(default=dict, blank=True)
    training_run = models.ForeignKey(
        "TrainingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        target = self.to_version or (self.model_version.version if self.model_version_id else "")
        moved = f" ({self.from_version or 'none'} -> {self.to_version or 'none'})" if self.from_version else ""
        return f"model action #{self.pk}: {self.get_action_display().lower()} {target}{moved}".strip()


class ModelJob(models.Model):
    """A background job on a version (gate, evaluation): queued in the web process, run on the training queue,
    with progress; never inside a web request."""

    class Kind(models.TextChoices):
        GATE = "gate", "Compare with the deployed model (gate)"
        CLINIC_EVALUATION = "clinic_evaluation", "Evaluate on the clinic's frozen test set"
        FOLDER_EVALUATION = "folder_evaluation", "Evaluate on a labelled folder"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=24, choices=Kind.choices)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One gate (or evaluation) of a version at a time: a double click queues one job, not two.
            models.UniqueConstraint(
                fields=["model_version", "kind"],
                condition=Q(status__in=["queued", "running"]),
                name="mlcore_single_active_job",
            )
        ]

    def __str__(self) -> str:
        return f"model job #{self.pk} ({self.kind}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def progress_percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class DeviceValidation(models.Model):
    """A version scored on one OCT device's labelled scans before go-live (``evaluate_model --device``).

    Models are trained on one device family; a clinic checks each of its devices before relying on the readings.
    The per-device readiness table shows the latest validation beside the doctors' agreement on that device.
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="device_validations")
    device = models.CharField(max_length=160, help_text="As the readings name it: DICOM Manufacturer + Model Name.")
    data_name = models.CharField(max_length=255, help_text="The labelled folder's name (not its path).")
    n = models.PositiveIntegerField()
    accuracy = models.FloatField()
    urgent_sensitivity = models.FloatField(null=True, blank=True)
    urgent_specificity = models.FloatField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.model_version.version} on {self.device} ({self.accuracy:.3f}, n={self.n})"
