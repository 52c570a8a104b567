"""The model's input of a reading, under the same patient access check as every other scan file."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from .errors import IntegrityError
from .model_input import prediction_model_input_png
from .views import _integrity_failure, _private, _scan_or_404, patient_scans_require


@login_required
@require_GET
def scan_model_input(request, uuid, prediction_pk: int):
    scan = _scan_or_404(uuid)
    patient_scans_require(user=request.user, patient=scan.patient)
    prediction = get_object_or_404(scan.predictions.select_related("model_version", "scan"), pk=prediction_pk)
    if not prediction.recognised:
        raise Http404("No model input: the image was not recognised as a retinal OCT B-scan")
    try:
        png = prediction_model_input_png(prediction=prediction)
    except FileNotFoundError as exc:
        raise Http404 from exc
    except IntegrityError:
        return _integrity_failure(scan)
    return _private(HttpResponse(png, content_type="image/png"))
