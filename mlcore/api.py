"""Model versions over the REST API: the registry and each version's model card, for clinic admins.

Read-only for now: training, evaluation, deploy and rollback stay in the staff pages and commands
until their services settle; they will be actions here, under ``mlcore.deploy_modelversion``.
Imports nothing but DRF and mlcore (mlcore knows models, never patients or the API's plumbing): the
permission class, pagination and error shape come from the REST_FRAMEWORK settings.
"""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from .models import ModelVersion
from .selectors import model_version_list


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
    action_permissions = {"list": _ADMIN, "retrieve": _ADMIN}

    def get_queryset(self):
        return model_version_list()

    def get_serializer_class(self):
        return ModelVersionCardSerializer if self.action == "retrieve" else ModelVersionSerializer
