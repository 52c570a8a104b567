"""Serializer fields shared by the apps' APIs: timestamps in UTC, with an offset required on input; and the
read path every API model serializer shares."""

from __future__ import annotations

import copy
import datetime as dt

from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import relations, serializers
from rest_framework.fields import Field, SkipField


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


class StrictCharField(serializers.CharField):
    """Text only: DRF's also took a number or a boolean (``0`` became ``"0"``), which the schema calls invalid."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ApiModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.DateTimeField: UtcDateTimeField,
        models.TimeField: WallClockTimeField,
        models.EmailField: OptionalEmailField,
    }

    def get_fields(self):
        """DRF's fields, built from the model once per serializer class and copied per use.

        ``ModelSerializer`` rebuilds every field from the model's metadata for each serializer it
        instantiates (each request); that was more than a tenth of a list request. The copies are DRF's own
        deep copies (fresh field instances from the same arguments), as for its declared fields.
        """
        prototype = _FIELD_PROTOTYPES.get(type(self))
        if prototype is None:
            prototype = _FIELD_PROTOTYPES[type(self)] = super().get_fields()
        return copy.deepcopy(prototype)

    def to_representation(self, instance):
        """DRF's output, field for field, with the attribute lookups planned once per serializer.

        DRF resolves every field of every row through a generic path (mapping check, dotted source walk,
        callable check, related-object wrapper); on a 50-row list page that was a third of the request's
        Python time. A plain model column is read with ``getattr`` and a foreign key as its ``*_id``; every
        other field (method fields, dotted sources, custom getters) takes DRF's own path, and every value
        still goes through its field's ``to_representation``.
        """
        plan = self.__dict__.get("_read_plan")
        if plan is None or plan[0] is not type(instance):
            plan = self._read_plan = (
                type(instance),
                [_read_step(field, type(instance)) for field in self._readable_fields],
            )
        ret = {}
        for name, field, attname, is_pk, to_representation in plan[1]:
            if attname is None:
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                if isinstance(value, relations.PKOnlyObject):
                    ret[name] = None if value.pk is None else to_representation(value)
                    continue
            else:
                value = getattr(instance, attname)
                if is_pk:
                    ret[name] = value  # PrimaryKeyRelatedField answers the key itself
                    continue
            ret[name] = None if value is None else to_representation(value)
        return ret


_FIELD_PROTOTYPES: dict[type, dict] = {}


def _read_step(field, model) -> tuple:
    """(name, field, attribute to read directly or None for DRF's path, whether that value is the answer, converter)

    Only a field DRF reads with its stock ``get_attribute`` from a column of this very model class takes the
    direct path; proxies, inherited descriptors and everything else keep DRF's.
    """
    attname, is_pk = None, False
    sources = field.source_attrs
    if len(sources) == 1:
        model_attr = model.__dict__.get(sources[0])
        if type(field).get_attribute is Field.get_attribute and isinstance(model_attr, DeferredAttribute):
            attname = sources[0]  # a concrete column: getattr as DRF would, minus its generic walk; never callable
        elif (
            type(field) is relations.PrimaryKeyRelatedField
            and field.pk_field is None
            and isinstance(model_attr, models.fields.related_descriptors.ForwardManyToOneDescriptor)
        ):
            attname, is_pk = model_attr.field.attname, True
    return field.field_name, field, attname, is_pk, field.to_representation


class StrictBooleanField(serializers.BooleanField):
    """Only JSON's ``true`` and ``false``: DRF's also took ``"0"``, ``"yes"`` or ``1``, which the schema calls
    invalid (a boolean)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)
