"""The precompiled token lookup returns what the ORM's ``select_related`` query returns, field for field
(timestamps timezone-aware on every database), with the user attached, in one query; unknown hashes none."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from octclinic.factories import DoctorFactory
from octclinic.models import ApiToken
from octclinic.services import api_token_create, api_token_hash, api_token_revoke
from octclinic.token_lookup import token_with_user

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.mark.parametrize("state", ["fresh", "used_and_expiring", "revoked"])
def test_same_token_and_user_as_the_orm(state):
    issued = api_token_create(user=DoctorFactory(last_login=timezone.now()), name="EHR bridge")
    token = issued.token
    if state == "used_and_expiring":
        ApiToken.objects.filter(pk=token.pk).update(
            last_used_at=timezone.now(), expires_at=timezone.now() + dt.timedelta(days=30)
        )
    if state == "revoked":
        api_token_revoke(token=token)
    key_hash = api_token_hash(issued.raw)
    expected = ApiToken.objects.select_related("user").get(key_hash=key_hash)
    with CaptureQueriesContext(connection) as queries:
        got = token_with_user(key_hash=key_hash)
        got_user = got.user
    assert len(queries) == 1
    assert _fields(got) == _fields(expected)
    assert _fields(got_user) == _fields(expected.user)
    assert all(
        value.tzinfo is not None for value in _fields(got).values() if isinstance(value, dt.datetime)
    )  # aware, as the ORM gives them, on SQLite too
    assert got._state.adding is False and got._state.db == expected._state.db


def test_an_unknown_hash_is_none():
    api_token_create(user=DoctorFactory())
    assert token_with_user(key_hash=api_token_hash("oct_not-issued")) is None
