"""The API's own endpoints: health. Domain endpoints live in each app's ``api.py``."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .api_errors import error_body
from .health import readiness_checks


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "error"])
    checks = serializers.DictField(child=serializers.ChoiceField(choices=["ok", "error"]), help_text="database, broker")


class HealthView(APIView):
    """Unauthenticated, like /readyz: it names which dependency failed, never how."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    public_endpoint = True

    @extend_schema(summary="Health", auth=[], responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request):
        checks = readiness_checks()
        ready = all(value == "ok" for value in checks.values())
        response = Response({"status": "ok" if ready else "error", "checks": checks}, status=200 if ready else 503)
        response["Cache-Control"] = "no-store"
        return response


@csrf_exempt  # nothing happens here; a CSRF page would break the JSON promise
def api_not_found(request, *args, **kwargs):
    """Unknown URLs under /api/ answer in the API's error shape, not with the staff 404 page."""
    return JsonResponse(error_body(code="not_found", message="Not found."), status=404)
