"""Doctor review over the REST API: the queue, decisions (approve, correct, ungradable) and reading them back.

Same rules as the pages, because the same functions decide: the queryset starts from
``scans.access.scans_visible_to`` and ``review_decide`` re-checks the care team and the doctors-only right.
A client whose user may not review gets 403; a scan out of reach is a 404.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from mlcore.labels import CLASSES
from octclinic.api_audit import AuditActorMixin
from octclinic.api_fields import ApiModelSerializer, UtcDateTimeField

from .access import scan_rows_visible_to, scans_visible_to
from .api import ModelProvenanceSerializer, model_provenance_data
from .models import Review, ReviewDecision
from .review import review_decide
from .review_forms import QueueFilterForm
from .review_queue_keys import QUEUE_CLASSES
from .review_selectors import NO_FILTERS, ReviewQueueList

_VIEW = ("patients.view_patient", "scans.view_scan", "scans.view_review")
_REVIEW = ("patients.view_patient", "scans.view_scan", "scans.view_prediction", "scans.review_scan")


class ReviewSerializer(ApiModelSerializer):
    scan = serializers.UUIDField(source="scan.uuid", read_only=True)
    model_version = serializers.CharField(source="model_version.version", read_only=True, allow_null=True)
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    agrees_with_ai = serializers.BooleanField(read_only=True, allow_null=True)
    deferred = serializers.BooleanField(source="ai_deferred", read_only=True, help_text="The AI was unsure.")
    recognised = serializers.BooleanField(
        source="ai_recognised", read_only=True, help_text="False: not recognised as a retinal OCT B-scan."
    )
    refusal_reason = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "scan",
            "decision",
            "label",
            "ai_label",
            "ai_urgency",
            "deferred",
            "recognised",
            "refusal_reason",
            "model_version",
            "model",
            "agrees_with_ai",
            "is_second_opinion",
            "note",
            "reviewer",
            "created_at",
        ]
        read_only_fields = fields

    def get_refusal_reason(self, review: Review) -> str:
        return review.prediction.refusal_reason if review.prediction_id and review.prediction else ""

    @extend_schema_field(ModelProvenanceSerializer(allow_null=True))
    def get_model(self, review: Review) -> dict | None:
        memo = self.context.setdefault("_model_provenance", {})
        if review.model_version_id not in memo:
            memo[review.model_version_id] = model_provenance_data(review.model_version)
        return memo[review.model_version_id]


class ReviewCreateSerializer(serializers.Serializer):
    scan = serializers.UUIDField()
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    label = serializers.ChoiceField(choices=[(c, c) for c in CLASSES], required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SecondOpinionStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["asked", "pending", "answered"], help_text="asked (of the caller), pending, answered"
    )
    colleague = serializers.CharField(help_text="Who was asked.")
    requested_by = serializers.CharField(help_text="Who asked (the responsible reader).")


class QueueItemSerializer(serializers.Serializer):
    scan = serializers.UUIDField(source="scan.uuid")
    eye = serializers.CharField(source="scan.eye")
    acquired_on = serializers.DateField(source="scan.acquired_on")
    label = serializers.CharField()
    confidence = serializers.FloatField(source="prediction.confidence")
    urgency = serializers.CharField()
    uncertainty = serializers.FloatField()
    queued_at = UtcDateTimeField()
    waiting_hours = serializers.FloatField()
    target_hours = serializers.FloatField()
    overdue = serializers.BooleanField()
    second_opinion = serializers.BooleanField(help_text="Asked of the caller.")
    second_opinions = SecondOpinionStateSerializer(many=True, help_text="Every request on the scan and its state.")
    deferred = serializers.BooleanField(source="prediction.deferred", help_text="Ranked right after urgent readings.")
    recognised = serializers.BooleanField(source="prediction.recognised", help_text="False ones wait last.")
    refusal_reason = serializers.CharField(source="prediction.refusal_reason")
    model = serializers.SerializerMethodField()

    @extend_schema_field(ModelProvenanceSerializer)
    def get_model(self, item) -> dict:
        prediction = item.prediction
        return model_provenance_data(prediction.model_version, getattr(prediction, "provenance", None))


@extend_schema_view(
    list=extend_schema(summary="List review decisions"),
    retrieve=extend_schema(summary="Read a review decision"),
)
class ReviewViewSet(AuditActorMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReviewSerializer
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    filterset_fields = ["decision", "label", "is_second_opinion"]
    action_permissions = {"list": _VIEW, "retrieve": _VIEW, "create": _REVIEW, "queue": _REVIEW}

    def get_queryset(self):
        return scan_rows_visible_to(Review.objects.all(), self.request.user).select_related(
            "scan", "model_version", "reviewer", "prediction"
        )

    @extend_schema(
        summary="Decide a scan's AI reading",
        description=(
            "Approve the AI label, correct it to another `label`, or mark the scan `ungradable` (image "
            "quality), with an optional `note`. Doctors of the patient's care team only. A caller asked for a "
            "second opinion on the scan gives one (`is_second_opinion: true`, never the decision of record); "
            "anyone else makes the decision of record, refused once there is one."
        ),
        request=ReviewCreateSerializer,
        responses={201: ReviewSerializer},
    )
    def create(self, request):
        params = ReviewCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        scan = (
            scans_visible_to(request.user, action="review").select_related("patient").filter(uuid=data["scan"]).first()
        )
        if scan is None:
            raise exceptions.NotFound()
        review = review_decide(
            scan=scan,
            reviewer=request.user,
            decision=data["decision"],
            label=data.get("label", ""),
            note=data.get("note", ""),
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The caller's review queue",
        description="Filters as on the queue page: `urgency` (a queue class), `device` (resource id), `since` / "
        "`until` (scan date, YYYY-MM-DD), `scope` (`mine` or `teams`).",
        parameters=[
            OpenApiParameter("urgency", str, enum=list(QUEUE_CLASSES)),
            OpenApiParameter("device", int),
            OpenApiParameter("since", OpenApiTypes.DATE),
            OpenApiParameter("until", OpenApiTypes.DATE),
            OpenApiParameter("scope", str, enum=["mine", "teams"]),
        ],
        responses={200: QueueItemSerializer(many=True)},
    )
    @action(detail=False, methods=["get"])
    def queue(self, request):
        wanted = {k: v for k, v in request.query_params.items() if k in QueueFilterForm.base_fields}
        form = QueueFilterForm(wanted or None)
        if wanted and not form.is_valid():
            raise serializers.ValidationError({field: list(errors) for field, errors in form.errors.items()})
        filters = form.filters() if wanted else NO_FILTERS
        page = self.paginate_queryset(ReviewQueueList(user=request.user, filters=filters))
        return self.get_paginated_response(QueueItemSerializer(page, many=True).data)
