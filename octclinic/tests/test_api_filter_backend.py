"""The API's filter backend skips django-filter's form only when that changes nothing: requests naming no
filter get every row, requests naming one are filtered (suffixed range parameters included), and a filter
set with a required filter or its own filtering always takes the full path."""

from __future__ import annotations

import django_filters
import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from octclinic.api_filters import FilterBackend, OrderingFilter
from octclinic.api_pagination import ApiPagination
from patients.factories import PatientFactory
from patients.models import Patient

pytestmark = pytest.mark.django_db


class _View:
    filter_backends = [FilterBackend, OrderingFilter]

    def __init__(self, filterset_class):
        self.filterset_class = filterset_class
        self.paginator = ApiPagination()


class Plain(django_filters.FilterSet):
    created = django_filters.IsoDateTimeFromToRangeFilter(field_name="created_at")

    class Meta:
        model = Patient
        fields = ["sex"]


class Required(django_filters.FilterSet):
    sex = django_filters.CharFilter(required=True)

    class Meta:
        model = Patient
        fields = []


class OwnFiltering(django_filters.FilterSet):
    class Meta:
        model = Patient
        fields = ["sex"]

    @property
    def qs(self):
        return super().qs.filter(is_archived=False)


def _filter(filterset_class, query: dict):
    request = Request(APIRequestFactory().get("/api/v1/patients/", query))
    return FilterBackend().filter_queryset(request, Patient.objects.order_by("pk"), _View(filterset_class))


def test_no_filter_named_returns_the_queryset_and_named_filters_apply():
    female, male = PatientFactory(sex="F"), PatientFactory(sex="M")
    assert list(_filter(Plain, {"page": 2, "ordering": "-id"})) == [female, male]
    assert list(_filter(Plain, {"sex": "M"})) == [male]
    after = female.created_at.isoformat()
    assert list(_filter(Plain, {"created_after": after})) == [female, male]  # a suffixed range parameter
    assert list(_filter(Plain, {"created_before": "2000-01-01T00:00:00Z"})) == []


def test_required_filters_and_own_filtering_keep_the_full_path():
    kept, archived = PatientFactory(), PatientFactory(is_archived=True)
    with pytest.raises(ValidationError):
        _filter(Required, {})
    assert list(_filter(OwnFiltering, {})) == [kept]
    assert archived not in _filter(OwnFiltering, {"page": 1})
