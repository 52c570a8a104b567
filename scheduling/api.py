"""Appointments and devices over the REST API: book, reschedule, cancel and check in.

Every state change goes through scheduling.services, so the API refuses exactly what the staff pages
and the admin refuse, with the same words, keyed by field.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from octclinic.api_audit import AuditActorMixin
from octclinic.api_fields import ApiModelSerializer, UtcDateTimeField
from octclinic.api_filters import IdFilter, UtcDateTimeFilter
from patients import access as patient_access
from patients.api import VisiblePatientField

from . import services
from .models import Appointment, AppointmentReschedule, AppointmentStatus, OpeningHours, Resource


class OpeningHoursSerializer(ApiModelSerializer):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens", "closes"]


class ResourceSerializer(ApiModelSerializer):
    opening_hours = OpeningHoursSerializer(many=True, read_only=True, help_text="Clinic-local wall-clock times.")

    class Meta:
        model = Resource
        fields = ["id", "name", "kind", "location", "model_name", "is_active", "opening_hours"]


class RescheduleSerializer(ApiModelSerializer):
    class Meta:
        model = AppointmentReschedule
        fields = [
            "old_start",
            "old_end",
            "old_resource",
            "new_start",
            "new_end",
            "new_resource",
            "reason",
            "changed_by",
            "changed_at",
        ]


class AppointmentSerializer(ApiModelSerializer):
    reschedules = RescheduleSerializer(many=True, read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "resource",
            "technician",
            "start",
            "end",
            "reason",
            "status",
            "checked_in_at",
            "completed_at",
            "cancelled_at",
            "cancellation_reason",
            "reschedules",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AppointmentBookSerializer(serializers.Serializer):
    patient = VisiblePatientField()
    resource = serializers.PrimaryKeyRelatedField(queryset=Resource.objects.all(), help_text="Device id.")
    start = UtcDateTimeField()
    end = UtcDateTimeField()
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class AppointmentRescheduleSerializer(serializers.Serializer):
    start = UtcDateTimeField()
    end = UtcDateTimeField()
    reason = serializers.CharField(max_length=200, help_text="Why it moves; kept on record.")
    resource = serializers.PrimaryKeyRelatedField(
        queryset=Resource.objects.all(), required=False, help_text="Another device; default: the same one."
    )


class AppointmentCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class AppointmentFilter(filters.FilterSet):
    start__gte = UtcDateTimeFilter(field_name="start", lookup_expr="gte")
    start__lt = UtcDateTimeFilter(field_name="start", lookup_expr="lt")
    updated_at__gte = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_at__lt = UtcDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    status = filters.ChoiceFilter(choices=AppointmentStatus.choices)
    patient = IdFilter(field_name="patient_id")
    resource = IdFilter(field_name="resource_id")

    class Meta:
        model = Appointment
        fields = ["patient", "resource", "status"]


@extend_schema_view(list=extend_schema(summary="List devices and rooms"), retrieve=extend_schema(summary="Read one"))
class ResourceViewSet(AuditActorMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ResourceSerializer
    filterset_fields = ["is_active", "kind"]
    ordering_fields = ["id", "name"]
    ordering = ["name", "id"]
    action_permissions = {"list": ("scheduling.view_resource",), "retrieve": ("scheduling.view_resource",)}
    queryset = Resource.objects.prefetch_related(
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens"))
    )


_VIEW = ("patients.view_patient", "scheduling.view_appointment")


@extend_schema_view(
    list=extend_schema(summary="List appointments", description="Filter by `updated_at__gte` to sync changes."),
    retrieve=extend_schema(summary="Read an appointment"),
)
class AppointmentViewSet(AuditActorMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AppointmentSerializer
    filterset_class = AppointmentFilter
    ordering_fields = ["id", "start", "updated_at"]
    ordering = ["start", "id"]
    action_permissions = {
        "list": _VIEW,
        "retrieve": _VIEW,
        "create": (*_VIEW, "scheduling.add_appointment"),
        "reschedule": (*_VIEW, "scheduling.reschedule_appointment"),
        "cancel": (*_VIEW, "scheduling.cancel_appointment"),
        "check_in": (*_VIEW, "scheduling.check_in_appointment"),
    }

    def get_queryset(self):
        return patient_access.rows_of_visible_patients(Appointment.objects.all(), self.request.user).prefetch_related(
            Prefetch("reschedules", queryset=AppointmentReschedule.objects.order_by("changed_at", "pk"))
        )

    def _answer(self, appointment: Appointment, code: int = status.HTTP_200_OK) -> Response:
        appointment = self.get_queryset().get(pk=appointment.pk)
        return Response(AppointmentSerializer(appointment, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="Book an appointment", request=AppointmentBookSerializer, responses={201: AppointmentSerializer}
    )
    def create(self, request):
        params = AppointmentBookSerializer(data=request.data, context=self.get_serializer_context())
        params.is_valid(raise_exception=True)
        appointment = services.appointment_book(booked_by=request.user, **params.validated_data)
        return self._answer(appointment, status.HTTP_201_CREATED)

    @extend_schema(summary="Reschedule", request=AppointmentRescheduleSerializer, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        params = AppointmentRescheduleSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        appointment = services.appointment_reschedule(
            appointment=self.get_object(), changed_by=request.user, **params.validated_data
        )
        return self._answer(appointment)

    @extend_schema(summary="Cancel", request=AppointmentCancelSerializer, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        params = AppointmentCancelSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        appointment = services.appointment_cancel(
            appointment=self.get_object(), cancelled_by=request.user, **params.validated_data
        )
        return self._answer(appointment)

    @extend_schema(summary="Check the patient in", request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        appointment = services.appointment_check_in(appointment=self.get_object(), checked_in_by=request.user)
        return self._answer(appointment)
