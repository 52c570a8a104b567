"""Model versions and training runs over the REST API, for clinic admins: list, card, evaluate, train,
deploy and roll back, through the same services as the /models/ pages and the commands.

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
from .models import ModelVersion, TrainingRun
from .selectors import model_version_list


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The model registry refused this change."


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
    }

    def get_queryset(self):
        return model_version_list()

    def get_serializer_class(self):
        return ModelVersionCardSerializer if self.action == "retrieve" else ModelVersionSerializer

    @extend_schema(
        summary="Deploy this version (the current one is retired)",
        request=None,
        parameters=[_VERSION],
        responses={200: ModelVersionSerializer, 409: OpenApiResponse(description="the artifact can't be served")},
    )
    @action(detail=True, methods=["post"])
    def deploy(self, request, version=None):
        model_version = self.get_object()
        try:
            deployed = services.model_version_deploy(model_version=model_version)
        except ModelVersionUnavailable as exc:
            raise Conflict(str(exc)) from exc
        return Response(ModelVersionSerializer(deployed).data)

    @extend_schema(
        summary="Roll back to the previously deployed version",
        request=None,
        responses={200: ModelVersionSerializer, 409: OpenApiResponse(description="nothing to roll back to")},
    )
    @action(detail=False, methods=["post"])
    def rollback(self, request):
        try:
            deployed = services.model_version_rollback()
        except ModelVersionUnavailable as exc:
            raise Conflict(str(exc)) from exc
        return Response(ModelVersionSerializer(deployed).data)

    @extend_schema(
        summary="Score this version on a labelled folder on the server (local validation)",
        request=EvaluateRequestSerializer,
        parameters=[_VERSION],
        responses={200: EvaluationSerializer, 409: OpenApiResponse(description="the artifact can't be loaded")},
    )
    @action(detail=True, methods=["post"])
    def evaluate(self, request, version=None):
        model_version = self.get_object()
        body = EvaluateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        folder = _evaluation_folder(body.validated_data["data"])
        try:
            metrics = services.model_version_evaluate(model_version=model_version, data=str(folder))
        except (FileNotFoundError, ValueError) as exc:
            raise ValidationError({"data": [str(exc)]}) from exc
        except ModelVersionUnavailable as exc:
            raise Conflict(str(exc)) from exc
        return Response(EvaluationSerializer(metrics).data)


class TrainingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = ["id", "status", "trigger", "params", "epoch", "epochs_total", "created_at"]
        read_only_fields = fields


class TrainingRequestSerializer(serializers.Serializer):
    epochs = serializers.IntegerField(min_value=1, max_value=500, required=False)
    image_size = serializers.IntegerField(min_value=75, max_value=512, required=False)
    data = serializers.CharField(
        max_length=500, required=False, help_text='"clinic" (approved labels and imported datasets, the default).'
    )

    def validate_data(self, value: str) -> str:
        if value != "clinic":
            raise ValidationError('Over the API only "clinic" data can be used; folders are for manage.py train_model.')
        return value


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
            run = services.training_run_request(params=params, started_by=request.user)
        except TrainingBusy as exc:
            raise Conflict(str(exc)) from exc
        except TrainingParamsInvalid as exc:
            raise ValidationError(str(exc)) from exc
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Cancel a queued or running training", request=None, responses={200: TrainingRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = services.training_run_cancel(run=self.get_object())
        return Response(TrainingRunSerializer(run).data)
