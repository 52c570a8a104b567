"""Filter fields and the filter backend shared by the apps' APIs."""

from __future__ import annotations

import datetime as dt
import functools

from django import forms
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend

MAX_ID = 2**63 - 1


class IdFilter(filters.NumberFilter):
    """An object id: a whole number in the database's range (a decimal would silently truncate)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _UtcIsoDateTimeField(IsoDateTimeField):
    """Normalises to UTC before the value reaches the database.

    PostgreSQL refuses offsets beyond ±15:59 that Python accepts (e.g. +20:05), and a far-off offset
    can push a date out of range: both must be a 400 naming the field, not a server error.
    """

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("This date and time is out of range.") from exc


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _UtcIsoDateTimeField


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, minus the work when a request names none of the view's filters.

    The backend builds and validates the filter form on every request, which on a list page cost as much as
    a query. A request without any of the filters' parameters gets the queryset back untouched: what the
    empty form would have given, as long as no filter is required and the filter set adds no filtering of
    its own (both checked; otherwise the full path runs).
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and _passes_through_when_unnamed(filterset_class):
            names = tuple(filterset_class.base_filters)
            if not any(param.startswith(names) for param in request.query_params):
                return queryset
        return super().filter_queryset(request, queryset, view)


@functools.cache
def _passes_through_when_unnamed(filterset_class) -> bool:
    # Range widgets name their parameters after the filter plus a suffix (``x_min``), hence the prefix test.
    overrides = any(
        attr in vars(klass)
        for klass in filterset_class.__mro__
        if klass.__module__.split(".")[0] != "django_filters"
        for attr in ("qs", "filter_queryset")
    )
    required = any(f.extra.get("required") for f in filterset_class.base_filters.values())
    return not overrides and not required
