"""Model versions and training runs over the REST API, for clinic admins: list, card, evaluate, train,
deploy and roll back, through the same services as the /models/ pages and the commands.

Deploy and roll back take a ``reason`` (required) and deploy an ``override_reason`` when the deploy checks refuse;
gate and evaluate queue a job for the training worker (202) whose progress is read at ``/model-jobs/{id}/``.

Imports nothing but DRF and mlcore (mlcore knows models, never patients or the API's plumbing): the
permission class, pagination and error shape come from the REST_FRAMEWORK settings. A refused state
change (nothing to roll back to, a broken artifact, a training already running) answers 409.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from . import services
from .exceptions import ModelVersionUnavailable, TrainingBusy, TrainingParamsInvalid
from .models import ModelJob, ModelVersion, TrainingRun
from .selectors import model_version_list


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The model registry refused this change."


def _conflict(exc: ModelVersionUnavailable) -> Conflict:
    problems = getattr(exc, "problems", None)
    return Conflict({"detail": str(exc), "problems": problems} if problems else str(exc))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why: recorded in the audit trail (required).")


class DeployRequestSerializer(ReasonSerializer):
    override_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="Why deploying is safe although the deploy checks refuse it (audited); omit when they pass.",
    )


class ModelJobSerializer(serializers.ModelSerializer):
    version = serializers.CharField(source="model_version.version", read_only=True)

    class Meta:
        model = ModelJob
        fields = ["id", "kind", "version", "status", "done", "total", "stage", "result", "error", "worker",
                  "created_at", "started_at", "finished_at"]  # fmt: skip
        read_only_fields = fields


class ModelVersionSerializer(serializers.ModelSerializer):
    created_at = serializers.DateTimeField(default_timezone=dt.UTC, read_only=True)
    deployed_at = serializers.DateTimeField(default_timezone=dt.UTC, read_only=True, allow_null=True)
    is_synthetic = serializers.BooleanField(
        read_only=True, help_text="Trained on generated phantom B-scans (demo only, never clinical)."
    )

    class Meta:
        model = ModelVersion
        fields = ["version", "status", "created_at", "deployed_at", "notes", "is_synthetic"]
        read_only_fields = fields


class ModelVersionCardSerializer(ModelVersionSerializer):
    card = serializers.DictField(read_only=True, help_text="The model card (card.json) written at registration.")

    class Meta(ModelVersionSerializer.Meta):
        fields = [*ModelVersionSerializer.Meta.fields, "card"]
        read_only_fields = fields


_VERSION = OpenApiParameter("version", str, OpenApiParameter.PATH)
_ADMIN = ("mlcore.view_modelversion", "mlcore.deploy_modelversion")
_TRAINER = ("mlcore.view_trainingrun", "mlcore.start_trainingrun")


class EvaluateRequestSerializer(serializers.Serializer):
    data = serializers.CharField(
        max_length=500,
        help_text="A labelled folder on the server (CLASS/* or the Kermany layout) under one of the folders "
        "listed in MLCORE_EVALUATION_ROOTS.",
    )


class EvaluationSerializer(serializers.Serializer):
    version = serializers.CharField()
    n = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True)
    per_class = serializers.DictField()
    confusion_matrix = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    urgent_sensitivity = serializers.FloatField(allow_null=True)
    urgent_specificity = serializers.FloatField(allow_null=True)
    ece = serializers.FloatField(allow_null=True)


def _evaluation_folder(value: str) -> Path:
    """Only folders an administrator listed may be read: the API must not become a file browser."""
    roots = [Path(root).resolve() for root in getattr(settings, "MLCORE_EVALUATION_ROOTS", [])]
    folder = Path(value).resolve()
    if not any(folder == root or root in folder.parents for root in roots):
        raise ValidationError({"data": ["This folder is not among the evaluation folders (MLCORE_EVALUATION_ROOTS)."]})
    if not folder.is_dir():
        raise ValidationError({"data": ["No such folder on the server."]})
    return folder


@extend_schema_view(
    list=extend_schema(summary="List model versions (clinic admins)"),
    retrieve=extend_schema(summary="A model version with its card (clinic admins)", parameters=[_VERSION]),
)
class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "version"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["status"]
    ordering_fields = ["created_at", "deployed_at"]
    ordering = ["-created_at", "-id"]
    action_permissions = {
        "list": _ADMIN,
        "retrieve": _ADMIN,
        "deploy": _ADMIN,
        "rollback": _ADMIN,
        "evaluate": _ADMIN,
        "gate": _ADMIN,
    }

    def get_queryset(self):
        return model_version_list()

    def get_serializer_class(self):
        return ModelVersionCardSerializer if self.action == "retrieve" else ModelVersionSerializer

    @extend_schema(
        summary="Deploy this version (the current one is retired); a reason is required",
        request=DeployRequestSerializer,
        parameters=[_VERSION],
        responses={
            200: ModelVersionSerializer,
            409: OpenApiResponse(description="refused by the deploy checks (problems listed), or can't be served"),
        },
    )
    @action(detail=True, methods=["post"])
    def deploy(self, request, version=None):
        model_version = self.get_object()
        body = DeployRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            deployed = services.model_version_deploy(
                model_version=model_version,
                actor=request.user,
                reason=body.validated_data["reason"],
                override_reason=body.validated_data.get("override_reason", ""),
                via="api",
            )
        except ModelVersionUnavailable as exc:
            raise _conflict(exc) from exc
        return Response(ModelVersionSerializer(deployed).data)

    @extend_schema(
        summary="Roll back to the previously deployed version; a reason is required",
        request=ReasonSerializer,
        responses={200: ModelVersionSerializer, 409: OpenApiResponse(description="nothing to roll back to")},
    )
    @action(detail=False, methods=["post"])
    def rollback(self, request):
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            deployed = services.model_version_rollback(
                actor=request.user, reason=body.validated_data["reason"], via="api"
            )
        except ModelVersionUnavailable as exc:
            raise _conflict(exc) from exc
        return Response(ModelVersionSerializer(deployed).data)

    @extend_schema(
        summary="Queue the gate: this candidate against the deployed model on the frozen test set",
        request=None,
        parameters=[_VERSION],
        responses={202: ModelJobSerializer, 409: OpenApiResponse(description="only a candidate can be gated")},
    )
    @action(detail=True, methods=["post"])
    def gate(self, request, version=None):
        try:
            job = services.model_version_gate_request(model_version=self.get_object(), actor=request.user, via="api")
        except ModelVersionUnavailable as exc:
            raise _conflict(exc) from exc
        return Response(ModelJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Queue an evaluation: on this clinic's frozen test set (no body), or on a labelled server folder",
        request=EvaluateRequestSerializer,
        parameters=[_VERSION],
        responses={202: ModelJobSerializer, 409: OpenApiResponse(description="the version has no stored model")},
    )
    @action(detail=True, methods=["post"])
    def evaluate(self, request, version=None):
        model_version = self.get_object()
        folder = None
        if request.data.get("data"):
            body = EvaluateRequestSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            folder = str(_evaluation_folder(body.validated_data["data"]))
        try:
            job = services.model_version_evaluation_request(
                model_version=model_version, actor=request.user, via="api", data=folder
            )
        except ModelVersionUnavailable as exc:
            raise _conflict(exc) from exc
        return Response(ModelJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="Gates and evaluations of model versions, newest first (clinic admins)"),
    retrieve=extend_schema(summary="A gate or evaluation job with its progress and result (clinic admins)"),
)
class ModelJobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ModelJobSerializer
    ordering = ["-created_at", "-id"]
    filterset_fields = ["status", "kind"]
    action_permissions = {"list": _ADMIN, "retrieve": _ADMIN}

    def get_queryset(self):
        return ModelJob.objects.select_related("model_version")


class TrainingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = ["id", "status", "trigger", "params", "epoch", "epochs_total", "created_at"]
        read_only_fields = fields


class TrainingRequestSerializer(serializers.Serializer):
    epochs = serializers.IntegerField(min_value=1, max_value=500, required=False)
    image_size = serializers.IntegerField(min_value=75, max_value=512, required=False)
    # An enum in the schema, as the server enforces it: folders on the server are for manage.py train_model.
    data = serializers.ChoiceField(
        choices=["clinic"],
        required=False,
        help_text='"clinic" (approved labels and imported datasets, the default).',
        error_messages={
            "invalid_choice": 'Over the API only "clinic" data can be used; folders are for manage.py train_model.'
        },
    )


@extend_schema_view(
    list=extend_schema(summary="Training runs, newest first (clinic admins)"),
    retrieve=extend_schema(summary="A training run with its progress (clinic admins)"),
)
class TrainingRunViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TrainingRunSerializer
    ordering = ["-created_at", "-id"]
    filterset_fields = ["status"]
    action_permissions = {"list": _TRAINER, "retrieve": _TRAINER, "create": _TRAINER, "cancel": _TRAINER}

    def get_queryset(self):
        return TrainingRun.objects.all()

    @extend_schema(
        summary="Start a training run (one at a time)",
        request=TrainingRequestSerializer,
        responses={202: TrainingRunSerializer, 409: OpenApiResponse(description="a training is already running")},
    )
    def create(self, request):
        body = TrainingRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        params = dict(body.validated_data)
        if "image_size" in params:
            params["input_size"] = params.pop("image_size")
        try:
            run = services.training_run_request(params=params, started_by=request.user, via="api")
        except TrainingBusy as exc:
            raise Conflict(str(exc)) from exc
        except TrainingParamsInvalid as exc:
            raise ValidationError(str(exc)) from exc
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Cancel a queued or running training", request=None, responses={200: TrainingRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = services.training_run_cancel(run=self.get_object(), actor=request.user, via="api")
        return Response(TrainingRunSerializer(run).data)
