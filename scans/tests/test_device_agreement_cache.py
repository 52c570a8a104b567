"""The per-device agreement is cached for DEVICE_AGREEMENT_CACHE_SECONDS: its aggregates read every reading and
review of the deployed version on each load of the clinic admin's dashboard (bench/bench_load.py: ~120 ms of SQL at
100,000 scans), and a missing cache server only costs that time again."""

import uuid
from unittest import mock

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from scans import device_readiness
from scans.device_readiness import device_agreement
from scans.factories import ModelVersionRowFactory, PredictionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def version():
    name = f"cache-{uuid.uuid4().hex[:12]}"  # a key of its own in the suite's shared cache
    PredictionFactory(device="OCT 1 (Spectralis)", model_version=ModelVersionRowFactory(version=name))
    return name


def test_rows_are_read_from_the_cache_until_they_expire(settings, version, django_assert_num_queries):
    settings.DEVICE_AGREEMENT_CACHE_SECONDS = 60
    with django_assert_num_queries(4):
        first = device_agreement(versions=[version])
    PredictionFactory(device="OCT 1 (Spectralis)", model_version=ModelVersionRowFactory(version=version))
    with django_assert_num_queries(0):
        cached = device_agreement(versions=[version])
    assert cached == first and [row.readings for row in cached if row.device == "OCT 1 (Spectralis)"] == [1]

    settings.DEVICE_AGREEMENT_CACHE_SECONDS = 0  # off: every call counts again, and sees the new reading
    fresh = device_agreement(versions=[version])
    assert [row.readings for row in fresh if row.device == "OCT 1 (Spectralis)"] == [2]


def test_without_the_cache_server_the_rows_are_computed(settings, version):
    settings.DEVICE_AGREEMENT_CACHE_SECONDS = 60
    with mock.patch.object(device_readiness.cache, "get", side_effect=RedisConnectionError("refused")):
        rows = device_agreement(versions=[version])
    assert [row.readings for row in rows if row.device == "OCT 1 (Spectralis)"] == [1]
