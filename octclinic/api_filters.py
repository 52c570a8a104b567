"""Filter fields and the filter backend shared by the apps' APIs."""

from __future__ import annotations

import datetime as dt
import functools
import re

from django import forms
from django.conf import settings
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions
from rest_framework import filters as drf_filters

MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
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


_BOOLEAN_VALUES = {"true": True, "false": False}


def known_query_parameters(view, filterset_class=None) -> set[str]:
    """The query parameters a list (or detail) view understands: its filters, ordering, paging and ``format``."""
    names = {getattr(settings, "REST_FRAMEWORK", {}).get("URL_FORMAT_OVERRIDE", "format") or "format"}
    if filterset_class is not None:
        names.update(_filter_parameters(filterset_class))
    for backend in getattr(view, "filter_backends", ()):
        if issubclass(backend, drf_filters.OrderingFilter):
            names.add(backend.ordering_param)
    paginator = getattr(view, "paginator", None)
    for attribute in ("page_query_param", "page_size_query_param", "cursor_query_param"):
        name = getattr(paginator, attribute, None)
        if name:
            names.add(name)
    return names


@functools.cache
def _filter_parameters(filterset_class) -> dict[str, object]:
    """Each query parameter of the filter set and its filter; range filters have one per suffix (``x_after``)."""
    parameters: dict[str, object] = {}
    for name, filter_ in filterset_class.base_filters.items():
        widget = filter_.extra.get("widget") or getattr(filter_.field_class, "widget", None)
        suffixes = getattr(widget, "suffixes", None)
        if suffixes:
            parameters.update({f"{name}_{suffix}" if suffix else name: filter_ for suffix in suffixes})
        else:
            parameters[name] = filter_
    return parameters


def _empty_is_a_choice(filter_) -> bool:
    choices = filter_.extra.get("choices") if isinstance(filter_, filters.ChoiceFilter) else None
    if callable(choices):
        choices = choices()
    return any(value == "" for value, _label in choices or ())


def check_query_parameters(request, view, filterset_class=None) -> None:
    """A 400 naming each parameter the view doesn't know (``?mrn=``, ``?foo=``), each filter sent empty, and each
    boolean filter that isn't ``true`` or ``false``: a typo must not silently return the whole list."""
    known = known_query_parameters(view, filterset_class)
    filter_names = set(_filter_parameters(filterset_class)) if filterset_class is not None else set()
    errors: dict[str, list[str]] = {}
    for name in request.query_params:
        if name not in known:
            errors[name] = ["Unknown query parameter."]
        elif "" in request.query_params.getlist(name) and name not in filter_names:
            errors[name] = ["Give a value or leave the parameter out."]  # paging and ordering; filters below
    if filterset_class is not None:
        for name, filter_ in _filter_parameters(filterset_class).items():
            values = request.query_params.getlist(name)
            if not values:
                continue
            if any(value == "" for value in values) and not _empty_is_a_choice(filter_):
                errors[name] = ["Give a value or leave the parameter out."]
            elif isinstance(filter_, filters.BooleanFilter) and any(v not in _BOOLEAN_VALUES for v in values):
                errors[name] = ["Send true or false."]
    if errors:
        raise exceptions.ValidationError(errors)


class OrderingFilter(drf_filters.OrderingFilter):
    """DRF's, but an unknown ordering field is a 400 naming ``ordering`` (DRF fell back to the default order)."""

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is not None:
            fields = [part.strip() for part in raw.split(",")]
            valid = self.remove_invalid_fields(queryset, fields, view, request)
            if not raw or len(valid) != len(fields):
                names = sorted(self._valid_names(queryset, view, request))
                raise exceptions.ValidationError({self.ordering_param: [f"Order by one of: {', '.join(names)}."]})
            return valid
        return self.get_default_ordering(view)

    def _valid_names(self, queryset, view, request) -> set[str]:
        return {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        names = sorted(self._schema_names(view))
        if names:
            one = "-?(" + "|".join(re.escape(name) for name in names) + ")"
            for parameter in parameters:
                parameter["schema"]["pattern"] = f"^{one}(,{one})*$"
                parameter["description"] = "Comma-separated fields, `-` for descending: " + ", ".join(names) + "."
        return parameters

    def _schema_names(self, view) -> set[str]:
        fields = getattr(view, "ordering_fields", None)
        if fields is not None and fields != "__all__":
            return {item if isinstance(item, str) else item[0] for item in fields}
        serializer_class = getattr(view, "serializer_class", None)
        model = getattr(getattr(serializer_class, "Meta", None), "model", None)
        if model is None:
            return set()
        try:
            return self._valid_names(model._default_manager.none(), view, None)
        except Exception:  # noqa: BLE001 - the schema then leaves the parameter a plain string
            return set()


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, minus the work when a request names none of the view's filters.

    The backend builds and validates the filter form on every request, which on a list page cost as much as
    a query. A request without any of the filters' parameters gets the queryset back untouched: what the
    empty form would have given, as long as no filter is required and the filter set adds no filtering of
    its own (both checked; otherwise the full path runs).
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        check_query_parameters(request, view, filterset_class)
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
