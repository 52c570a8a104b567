"""The one JSON error shape of the API: ``{"error": {"code", "message", "fields"}}``.

Every 4xx and 5xx goes through ``api_exception_handler`` so clients parse errors one way, and
validation errors name the field. Service-layer ``django.core.exceptions.ValidationError`` (booking
rules, patient rules) arrive here too, keyed by field where the service keyed them.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable reason, e.g. `invalid`, `not_found`, `throttled`.")
    message = serializers.CharField(help_text="A sentence for people; never contains patient data.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field name; `non_field_errors` for errors about the request as a whole.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {text}" for key, value in detail.items() for text in _flatten(value)]
    if isinstance(detail, list):
        return [text for item in detail for text in _flatten(item)]
    return [str(detail)]


def _fields(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def django_validation_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        mapped = {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
        return exceptions.ValidationError(mapped)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


class TooManyFields(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "too_many_fields"
    default_detail = "Too many fields or query parameters."


class TooManyFiles(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "too_many_files"
    default_detail = "Too many files in one request."


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request could not be read."


def suspicious_to_drf(exc: SuspiciousOperation) -> exceptions.APIException:
    """Django's refusals of oversized input (raised while the request is parsed) as the API's 4xx, not a 500.

    The messages name the limit, never the request's content.
    """
    from .api_parsers import RequestTooLarge

    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return TooManyFields(f"Too many fields or query parameters (at most {limit}).")
    if isinstance(exc, TooManyFilesSent):
        return TooManyFiles(f"Too many files in one request (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}).")
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(
            f"The request's form fields are larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    return BadRequest()


def api_exception_handler(exc, context):
    if isinstance(exc, SuspiciousOperation):
        exc = suspicious_to_drf(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = django_validation_to_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        # Unexpected: log the type only (the message may carry request data), answer in the same shape.
        logger.exception("unhandled API error in %s", type(context.get("view")).__name__)
        return Response(
            error_body(code="server_error", message="Internal error; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        first = next(iter(fields.values()), ["Invalid input."])
        message = first[0] if list(fields) == ["non_field_errors"] else "Invalid input; see fields."
        response.data = error_body(code="invalid", message=message, fields=fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
        response.data = error_body(code=str(code), message=" ".join(_flatten(detail)))
    return response
