"""Patients over the REST API: list, read, register, edit, archive/restore, search, history.

Names, MRNs and birth dates never go in a URL, so there are no such query filters: search is a POST
with the query in the body, like the staff page. Every queryset starts from ``patients_visible_to``.
"""

from __future__ import annotations

from auditlog.signals import accessed
from django.core.validators import RegexValidator
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from octclinic.api_audit import AuditActorMixin
from octclinic.api_fields import ApiModelSerializer, StrictBooleanField, StrictCharField, UtcDateTimeField
from octclinic.api_filters import UtcDateTimeFilter
from octclinic.api_parsers import JSONParser

from . import access as patient_access
from . import services
from .models import MRN_VALIDATOR, Patient
from .selectors import patient_search
from .timeline import patient_timeline

# The model's rule (MRN_VALIDATOR) before normalising: the service upper-cases, so lower case is accepted here.
MRN_API_VALIDATOR = RegexValidator(regex=r"^[A-Za-z0-9][A-Za-z0-9-]{3,19}$", message=MRN_VALIDATOR.message)


class PatientSerializer(ApiModelSerializer):
    # Normalised and checked (format, uniqueness) by the service, like the staff form.
    mrn = StrictCharField(
        max_length=20,
        trim_whitespace=False,
        validators=[MRN_API_VALIDATOR],
        help_text="Medical record number: 4 to 20 letters, digits and hyphens, starting with a letter or digit; "
        "compared case-insensitively (stored in capitals).",
    )
    date_of_birth = serializers.DateField(help_text="Not in the future, and not before 1900-01-01.")

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "notes",
            "is_archived",
            "archived_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "is_archived", "archived_at", "created_at", "updated_at"]


@extend_schema_field(OpenApiTypes.INT)
class VisiblePatientField(serializers.PrimaryKeyRelatedField):
    """A patient id the caller can reach; any other id reads as unknown, so existence doesn't leak."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Patient id.")
        super().__init__(**kwargs)

    def get_queryset(self):
        return patient_access.patients_visible_to(self.context["request"].user)


class PatientSearchSerializer(serializers.Serializer):
    query = StrictCharField(
        max_length=200, allow_blank=True, help_text="MRN prefix, name words, or a birth date (YYYY-MM-DD)."
    )
    include_archived = StrictBooleanField(default=False)


class TimelineEntrySerializer(serializers.Serializer):
    when = UtcDateTimeField()
    kind = serializers.CharField(help_text="appointment, reschedule, scan, … (grows as apps add sources)")
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    status = serializers.CharField(allow_blank=True)
    eye = serializers.CharField(allow_blank=True, help_text="OD, OS, or empty when not about one eye.")
    web_url = serializers.CharField(source="url", allow_blank=True, help_text="The staff page for this entry.")
    extra = serializers.DictField()


class PatientFilter(filters.FilterSet):
    updated_at__gte = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_at__lt = UtcDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    created_at__gte = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Patient
        fields = ["is_archived", "sex"]


@extend_schema_view(
    list=extend_schema(summary="List patients", description="Filter by `updated_at__gte` to sync changes."),
    retrieve=extend_schema(summary="Read a patient"),
    create=extend_schema(summary="Register a patient"),
    partial_update=extend_schema(summary="Edit a patient"),
)
class PatientViewSet(
    AuditActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["id", "updated_at", "created_at", "last_name"]
    ordering = ["last_name", "first_name", "id"]
    http_method_names = ["get", "post", "patch", "head"]
    action_permissions = {
        "list": ("patients.view_patient",),
        "retrieve": ("patients.view_patient",),
        "history": ("patients.view_patient",),
        "search": ("patients.view_patient",),
        "create": ("patients.view_patient", "patients.add_patient"),
        "partial_update": ("patients.view_patient", "patients.change_patient"),
        "archive": ("patients.view_patient", "patients.archive_patient"),
        "restore": ("patients.view_patient", "patients.archive_patient"),
    }

    def get_queryset(self):
        return patient_access.patients_visible_to(self.request.user)

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        accessed.send(sender=Patient, instance=patient)
        return Response(self.get_serializer(patient).data)

    def perform_create(self, serializer):
        serializer.instance = services.patient_create(created_by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.patient_update(
            patient=serializer.instance, updated_by=self.request.user, **serializer.validated_data
        )

    @extend_schema(summary="Archive a patient (clinic admins)", request=None, responses=PatientSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        patient = services.patient_archive(patient=self.get_object(), archived_by=request.user)
        return Response(self.get_serializer(patient).data)

    @extend_schema(summary="Restore an archived patient (clinic admins)", request=None, responses=PatientSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        patient = services.patient_restore(patient=self.get_object(), restored_by=request.user)
        return Response(self.get_serializer(patient).data)

    @extend_schema(
        summary="Search patients",
        description="The query travels in the body, never in the URL, because it is patient data.",
        request=PatientSearchSerializer,
        responses=PatientSerializer(many=True),
    )
    @action(detail=False, methods=["post"], filter_backends=[], parser_classes=[JSONParser])
    def search(self, request):
        params = PatientSearchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        visible = patient_access.patients_visible_to(request.user).values("pk")
        found = patient_search(**params.validated_data).filter(pk__in=visible).order_by(*self.ordering)
        page = self.paginate_queryset(found)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="A patient's history",
        description="Appointments, reschedules, scans and (as they land) readings and reviews, newest first.",
        responses=TimelineEntrySerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        patient = self.get_object()
        accessed.send(sender=Patient, instance=patient)
        return Response(TimelineEntrySerializer(patient_timeline(patient=patient), many=True).data)
