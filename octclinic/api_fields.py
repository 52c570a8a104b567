"""Serializer fields shared by the apps' APIs: timestamps in UTC, with an offset required on input."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class UtcDateTimeField(serializers.DateTimeField):
    """Naive input is refused: the clinic's wall clock is ambiguous on daylight-saving days."""

    default_error_messages = {
        "naive": "Give the time with a UTC offset, e.g. 2030-01-07T08:00:00Z or 2030-01-07T09:00:00+01:00.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", dt.UTC)
        super().__init__(**kwargs)

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
        "example": "08:00:00",
        "description": "Wall-clock time in the clinic's zone (no offset: it repeats every week).",
    }
)
class WallClockTimeField(serializers.TimeField):
    """JSON Schema's ``time`` format demands an offset, which an opening hour doesn't have."""


@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "email", "maxLength": 254}, {"type": "string", "maxLength": 0}]}
)
class OptionalEmailField(serializers.EmailField):
    """An e-mail address or empty (the schema's ``email`` format alone would call "" invalid)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)


class ApiModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UtcDateTimeField,
        models.TimeField: WallClockTimeField,
        models.EmailField: OptionalEmailField,
    }
