"""Scans over the REST API: multipart upload (one or several files, DICOM included), list, read,
file download, and the AI readings with their heatmaps.

Uploads go through ``scans_upload_batch`` and ``ScanUploadForm``, the service and the form the web
upload uses, so the API refuses exactly what the page refuses. An ``Idempotency-Key`` makes a retried
upload answer with the first response instead of storing anything twice. Access is the patient's:
querysets start from ``patients.access.patients_visible_to`` and objects are re-checked with
``scans.access``, so a scan out of reach is a 404, for its files too.
"""

from __future__ import annotations

import functools
import hashlib
import json

from auditlog.signals import accessed
from django.http import FileResponse, HttpResponse
from django.urls import get_script_prefix, reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from octclinic.api_audit import AuditActorMixin
from octclinic.api_errors import ErrorSerializer, error_body
from octclinic.api_fields import ApiModelSerializer
from octclinic.api_filters import IdFilter, UtcDateTimeFilter
from octclinic.api_pagination import ApiCursorPagination
from octclinic.api_parsers import FormParser, MultiPartParser
from octclinic.services import IdempotencyConflict, idempotent_call
from patients import access as patient_access
from patients.api import VisiblePatientField
from patients.eyes import Eye
from scheduling.models import Appointment

from .access import patient_scans_allowed
from .errors import IntegrityError
from .forms import ScanUploadForm
from .models import AiStatus, FileFormat, Prediction, Scan
from .selectors import FILE_KINDS, prediction_heatmap_open, predictions_with_provenance, scan_file_open
from .services import scans_upload_batch

IDEMPOTENCY_HEADER = "Idempotency-Key"
FILE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/tiff", "application/dicom")


_SLOT = "00000000-0000-4000-8000-000000000000"


def _api_url_halves(request, name: str, **kwargs) -> tuple[str, str]:
    """The absolute link to a scan's sub-resource, split where the scan's uuid goes.

    A list page carries ~250 links and ``reverse`` costs more than the rest of a row, so each pattern is
    reversed once per process (with a placeholder for the scan); only patterns with a bounded set of
    ``kwargs`` (the file kinds) belong here.
    """
    path_prefix, suffix = _api_path_halves(get_script_prefix(), name, tuple(sorted(kwargs.items())))
    return request.build_absolute_uri(path_prefix), suffix


@functools.cache
def _api_path_halves(script_prefix: str, name: str, kwargs: tuple) -> tuple[str, str]:
    # ``reverse`` reads the script prefix of the request being served; it is part of the key for that reason.
    path = reverse(f"api:{name}", kwargs={"uuid": _SLOT, **dict(kwargs)})
    prefix, _, suffix = path.partition(_SLOT)
    return prefix, suffix


class ScanSerializer(ApiModelSerializer):
    files = serializers.SerializerMethodField(help_text="Download URLs by kind (empty kinds left out).")
    predictions_url = serializers.SerializerMethodField()

    class Meta:
        model = Scan
        fields = [
            "uuid",
            "patient",
            "appointment",
            "eye",
            "acquired_on",
            "file_format",
            "original_name",
            "content_type",
            "size_bytes",
            "sha256",
            "width",
            "height",
            "frame_count",
            "ai_frames",
            "ai_status",
            "ai_error",
            "warnings",
            "identity_mismatch_confirmed",
            "uploaded_at",
            "files",
            "predictions_url",
        ]
        read_only_fields = fields
        extra_kwargs = {"ai_frames": {"help_text": "0-based frames that get an AI reading."}}

    def _link_halves(self) -> dict[str, tuple[str, str]]:
        """The scan link patterns, made absolute once per serializer (i.e. once per page)."""
        halves = self.__dict__.get("_halves")
        if halves is None:
            request = self.context["request"]
            halves = self._halves = {kind: _api_url_halves(request, "scan-file", kind=kind) for kind in FILE_KINDS}
            halves["predictions"] = _api_url_halves(request, "scan-predictions")
        return halves

    def get_files(self, scan: Scan) -> dict[str, str]:
        halves = self._link_halves()
        uuid = str(scan.uuid)
        links = {}
        for kind in FILE_KINDS:
            # The stored name, read without building a FieldFile per kind and row (a list page has 200 of them).
            name = scan.__dict__.get(kind)
            if getattr(name, "name", name):
                prefix, suffix = halves[kind]
                links[kind] = f"{prefix}{uuid}{suffix}"
        return links

    def get_predictions_url(self, scan: Scan) -> str:
        prefix, suffix = self._link_halves()["predictions"]
        return f"{prefix}{scan.uuid}{suffix}"


class ModelHeadlineSerializer(serializers.Serializer):
    accuracy = serializers.FloatField(allow_null=True)
    urgent_sensitivity = serializers.FloatField(allow_null=True, help_text="Urgent-referral (CNV+DME) sensitivity.")
    urgent_specificity = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField(help_text="Images the figures were measured on.")
    folds = serializers.IntegerField(allow_null=True, help_text="Cross-validation folds; null for a held-out split.")
    source = serializers.ChoiceField(choices=["cross_validation", "test_split"])


class ModelProvenanceSerializer(serializers.Serializer):
    version = serializers.CharField()
    synthetic = serializers.BooleanField(help_text="Trained on generated phantom images: a demo, never clinical.")
    clinical_use = serializers.BooleanField(help_text="False for a synthetic model or a card's non-clinical use.")
    notice = serializers.CharField(help_text='Shown with the reading when not for clinical use; "" otherwise.')
    headline = ModelHeadlineSerializer(allow_null=True, help_text="The model's evaluation; null if not evaluated.")


def model_provenance_data(model_version, provenance: dict | None = None) -> dict | None:
    """The API's ``model`` object of a reading or decision (see ``mlcore.selectors.model_version_provenance``)."""
    if model_version is None:
        return None
    if provenance is None:
        from mlcore.selectors import model_version_provenance

        provenance = model_version_provenance(model_version=model_version)
    return {name: provenance[name] for name in ModelProvenanceSerializer._declared_fields}


class PredictionSerializer(ApiModelSerializer):
    """An AI reading. A ``deferred`` one still carries its label and probabilities here (the pages withhold them:
    the doctor reads the scan without the AI's suggestion); one not ``recognised`` as an OCT B-scan has no label,
    urgency ``unrecognised`` and a ``refusal_reason``. ``model`` says which model made it and whether that model
    may be used clinically."""

    model_version = serializers.CharField(source="model_version.version", read_only=True)
    probabilities = serializers.DictField(child=serializers.FloatField(), read_only=True)
    review_reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    heatmap_url = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = [
            "id",
            "model_version",
            "frame",
            "label",
            "probabilities",
            "confidence",
            "uncertainty",
            "needs_careful_review",
            "review_reasons",
            "urgency",
            "deferred",
            "recognised",
            "refusal_reason",
            "device",
            "model",
            "heatmap_url",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ModelProvenanceSerializer)
    def get_model(self, prediction: Prediction) -> dict:
        return model_provenance_data(prediction.model_version, getattr(prediction, "provenance", None))

    def get_heatmap_url(self, prediction: Prediction) -> str | None:
        if not prediction.heatmap.name:
            return None
        # A scan has a few readings: reversed as it comes (ids would grow a process-wide pattern cache).
        url = reverse("api:scan-heatmap", kwargs={"uuid": prediction.scan.uuid, "prediction_id": prediction.pk})
        return self.context["request"].build_absolute_uri(url)


class ScanUploadSerializer(serializers.Serializer):
    patient = VisiblePatientField()
    eye = serializers.ChoiceField(choices=Eye.choices)
    acquired_on = serializers.DateField(
        help_text="When the image was taken; not in the future. A DICOM file's own header date wins over this one."
    )
    # Not nullable: a multipart form can't send null (schemathesis sent the text "null"); leave it out for none.
    appointment = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="Appointment id of this patient; omit for none."
    )
    confirm_identity_mismatch = serializers.BooleanField(
        default=False, help_text="Store although the DICOM header names another patient or eye."
    )
    # Empty files are let through on purpose: intake refuses them naming the file, like the web upload.
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        min_length=1,
        help_text="One or several JPEG, PNG, TIFF or DICOM files (multi-frame OCT volumes included).",
    )


class UploadOutcomeSerializer(serializers.Serializer):
    file_name = serializers.CharField()
    status = serializers.ChoiceField(choices=["stored", "refused", "duplicate", "identity_mismatch"])
    message = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())
    scan = ScanSerializer(allow_null=True)


class UploadResultSerializer(serializers.Serializer):
    results = UploadOutcomeSerializer(many=True)


class ScanFilter(filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    appointment = IdFilter(field_name="appointment_id")
    eye = filters.ChoiceFilter(choices=Eye.choices)
    ai_status = filters.ChoiceFilter(choices=AiStatus.choices)
    file_format = filters.ChoiceFilter(choices=FileFormat.choices)
    acquired_on__gte = filters.DateFilter(field_name="acquired_on", lookup_expr="gte")
    acquired_on__lte = filters.DateFilter(field_name="acquired_on", lookup_expr="lte")
    uploaded_at__gte = UtcDateTimeFilter(field_name="uploaded_at", lookup_expr="gte")

    class Meta:
        model = Scan
        fields = ["patient", "appointment", "eye", "ai_status", "file_format"]


def _fingerprint(params: dict, uploads) -> str:
    digest = hashlib.sha256()
    meta = {key: str(value.pk if hasattr(value, "pk") else value) for key, value in params.items() if key != "files"}
    digest.update(json.dumps(meta, sort_keys=True).encode())
    for uploaded in uploads:
        digest.update(str(getattr(uploaded, "name", "")).encode() + b"\0")
        uploaded.seek(0)
        for chunk in uploaded.chunks():
            digest.update(chunk)
        uploaded.seek(0)
    return digest.hexdigest()


_VIEW = ("patients.view_patient", "scans.view_scan")
_SCAN_LOOKUP = OpenApiParameter("uuid", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="List scans",
        description=(
            "Newest upload first, paged by cursor: follow `next` (and `previous`) as given; there is no total "
            "count. To sync new scans, ask `?ordering=uploaded_at&uploaded_at__gte=<last sync time>` and follow "
            "`next` until it is null."
        ),
    ),
    retrieve=extend_schema(summary="Read a scan", parameters=[_SCAN_LOOKUP]),
)
class ScanViewSet(AuditActorMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ScanSerializer
    filterset_class = ScanFilter
    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    parser_classes = [MultiPartParser, FormParser]  # the only write here is the multipart upload
    pagination_class = ApiCursorPagination  # the collection without bound: no count, no deep OFFSET
    # Cursor fields only: nearly unique and indexed (a date would tie a whole clinic day).
    ordering_fields = ["uploaded_at", "id"]
    ordering = ["-uploaded_at", "-id"]
    action_permissions = {
        "list": _VIEW,
        "retrieve": _VIEW,
        "create": (*_VIEW, "scans.add_scan"),
        "file": _VIEW,
        "predictions": (*_VIEW, "scans.view_prediction"),
        "heatmap": (*_VIEW, "scans.view_prediction"),
        "report": (*_VIEW, "scans.view_prediction"),
    }

    def get_queryset(self):
        return patient_access.rows_of_visible_patients(Scan.objects.all(), self.request.user)

    def get_object(self):
        scan = super().get_object()
        if not patient_scans_allowed(user=self.request.user, patient=scan.patient):
            raise exceptions.NotFound()
        return scan

    @extend_schema(
        summary="Upload scans",
        description=(
            "Multipart form with one or several `files`. Each file is validated by content and stored, "
            "or refused with a message naming it; one bad file does not stop the others. 201 when at "
            "least one file was stored (each file's outcome in `results`), 400 when none was, 409 when "
            "every file was already in the record. Send an `Idempotency-Key` to make retries safe: a "
            "retry with the same key and the same request gets the first answer back "
            "(`Idempotent-Replayed: true`) and stores nothing; the same key with a different request is a 422, "
            "and a retry while the first is still running is a 409 `in_progress` (an attempt cut off without an "
            "answer, e.g. by a database outage, is redone by the first retry after `IDEMPOTENCY_CLAIM_SECONDS`)."
        ),
        request={"multipart/form-data": ScanUploadSerializer},
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                location=OpenApiParameter.HEADER,
                required=False,
                description="A unique string per logical upload (e.g. a UUID), at most 255 characters.",
                # What the view enforces: 1 to 255 characters, not only whitespace.
                type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
            )
        ],
        responses={
            201: UploadResultSerializer,
            409: OpenApiResponse(ErrorSerializer, description="Every file was already stored for this patient."),
            422: OpenApiResponse(ErrorSerializer, description="Idempotency-Key reused for a different request."),
        },
    )
    def create(self, request):
        params = ScanUploadSerializer(data=request.data, context=self.get_serializer_context())
        params.is_valid(raise_exception=True)
        data = params.validated_data
        patient = data["patient"]
        if not patient_scans_allowed(user=request.user, patient=patient, action="add"):
            raise exceptions.PermissionDenied()
        form = ScanUploadForm(
            {
                "eye": data["eye"],
                "acquired_on": data["acquired_on"].isoformat(),
                "appointment": data.get("appointment") or "",
                "confirm_identity_mismatch": "on" if data["confirm_identity_mismatch"] else "",
            },
            patient=patient,
        )
        if not form.is_valid():
            raise exceptions.ValidationError({name: list(errors) for name, errors in form.errors.items()})
        uploads = data["files"]
        appointment: Appointment | None = form.cleaned_data["appointment"]

        def produce() -> tuple[int, dict]:
            outcomes = scans_upload_batch(
                patient=patient,
                eye=form.cleaned_data["eye"],
                acquired_on=form.cleaned_data["acquired_on"],
                appointment=appointment,
                uploads=uploads,
                uploaded_by=request.user,
                confirm_identity_mismatch=form.cleaned_data["confirm_identity_mismatch"],
            )
            if any(outcome.ok for outcome in outcomes):
                results = [
                    {
                        "file_name": o.file_name,
                        "status": o.status,
                        "message": o.message,
                        "warnings": o.warnings,
                        "scan": ScanSerializer(o.scan, context=self.get_serializer_context()).data if o.scan else None,
                    }
                    for o in outcomes
                ]
                return status.HTTP_201_CREATED, json.loads(json.dumps({"results": results}, default=str))
            messages = [o.message for o in outcomes]
            if all(o.status == "duplicate" for o in outcomes):
                body = error_body(code="duplicate", message=messages[0], fields={"files": messages})
                return status.HTTP_409_CONFLICT, body
            body = error_body(code="invalid", message="No file was stored; see fields.", fields={"files": messages})
            return status.HTTP_400_BAD_REQUEST, body

        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            code, body = produce()
            return Response(body, status=code)
        if not key.strip() or len(key) > 255:
            raise exceptions.ValidationError({IDEMPOTENCY_HEADER: ["Send 1 to 255 characters."]})
        try:
            result = idempotent_call(
                user=request.user,
                scope="scan-upload",
                key=key,
                fingerprint=_fingerprint(data, uploads),
                produce=produce,
            )
        except IdempotencyConflict as exc:
            code = status.HTTP_422_UNPROCESSABLE_ENTITY if exc.code == "key_reused" else status.HTTP_409_CONFLICT
            return Response(error_body(code=exc.code, message=str(exc)), status=code)
        response = Response(result.body, status=result.status)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(
        summary="Download one of a scan's files",
        description=(
            "`original` (as uploaded), `preview` (PNG), `thumbnail` (JPEG), `deidentified` (DICOM scans only). "
            "Each file's sha256 is verified before it is sent."
        ),
        parameters=[
            _SCAN_LOOKUP,
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(FILE_KINDS)),
        ],
        responses={(200, media): OpenApiTypes.BINARY for media in FILE_MEDIA_TYPES},
    )
    @action(detail=True, methods=["get"], url_path=r"files/(?P<kind>[a-z]+)", filter_backends=[], url_name="file")
    def file(self, request, uuid=None, kind=None):
        if kind not in FILE_KINDS:
            raise exceptions.NotFound()
        scan = self.get_object()
        try:
            opened = scan_file_open(scan=scan, kind=kind)
        except FileNotFoundError as exc:
            raise exceptions.NotFound() from exc
        except IntegrityError as exc:
            raise exceptions.APIException("The stored file failed its integrity check; it has been logged.") from exc
        if kind in ("original", "deidentified"):
            accessed.send(sender=Scan, instance=scan)
        response = FileResponse(
            opened.handle,
            content_type=opened.content_type,
            as_attachment=kind in ("original", "deidentified"),
            filename=opened.download_name,
        )
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(
        summary="AI readings of a scan",
        description=(
            "Every reading, newest first; an empty list while `ai_status` is `queued` or `awaiting_model`. "
            "Poll the scan until `ai_status` is `classified` or `failed`."
        ),
        parameters=[_SCAN_LOOKUP],
        responses=PredictionSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None, url_name="predictions")
    def predictions(self, request, uuid=None):
        scan = self.get_object()
        readings = predictions_with_provenance(
            scan.predictions.select_related("model_version", "scan").order_by("-created_at", "frame", "-pk")
        )
        return Response(PredictionSerializer(readings, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Grad-CAM heatmap of a reading (PNG)",
        parameters=[_SCAN_LOOKUP, OpenApiParameter("prediction_id", int, OpenApiParameter.PATH)],
        responses={(200, "image/png"): OpenApiTypes.BINARY},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"predictions/(?P<prediction_id>[0-9]+)/heatmap",
        filter_backends=[],
        url_name="heatmap",
    )
    def heatmap(self, request, uuid=None, prediction_id=None):
        scan = self.get_object()
        prediction = scan.predictions.filter(pk=prediction_id).first()
        if prediction is None:
            raise exceptions.NotFound()
        try:
            handle = prediction_heatmap_open(prediction=prediction)
        except FileNotFoundError as exc:
            raise exceptions.NotFound() from exc
        except IntegrityError as exc:
            raise exceptions.APIException("The stored heatmap failed its integrity check; it has been logged.") from exc
        response = FileResponse(handle, content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(
        summary="Printable visit report (PDF) for this scan's patient, eye and day",
        description=(
            "The same report as the staff page: the visit's images, AI readings, heatmaps and the doctor's "
            "decisions. Fetch it once the readings are reviewed."
        ),
        parameters=[_SCAN_LOOKUP],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None, url_name="report")
    def report(self, request, uuid=None):
        from django.conf import settings

        from .visit_report import visit_report_pdf

        scan = self.get_object()
        accessed.send(sender=Scan, instance=scan)
        pdf = visit_report_pdf(
            patient=scan.patient, eye=scan.eye, day=scan.acquired_on, clinic_name=getattr(settings, "CLINIC_NAME", "")
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="visit-report-{scan.uuid}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response
