"""The permission backend answers exactly as Django's ModelBackend (own + group permissions, inactive users
none, superusers all) but reads them in one query."""

import pytest
from django.contrib.auth import backends as django_backends
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from octclinic.auth_backends import ModelBackend

pytestmark = pytest.mark.django_db


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


@pytest.mark.parametrize("persona", ["technician", "doctor", "clinic_admin"])
def test_same_permissions_as_django_in_one_query(request, persona):
    user = request.getfixturevalue(persona)
    user.user_permissions.add(Permission.objects.get(codename="view_all_patients"))
    expected = django_backends.ModelBackend().get_all_permissions(_fresh(user))
    assert expected  # the roles hold permissions, so the comparison means something
    fresh = _fresh(user)
    with CaptureQueriesContext(connection) as queries:
        got = ModelBackend().get_all_permissions(fresh)
        assert fresh.has_perm("patients.view_all_patients")
    assert got == expected
    assert len(queries) == 1


def test_inactive_users_have_none_and_superusers_all(django_user_model, doctor):
    doctor.is_active = False
    assert ModelBackend().get_all_permissions(doctor) == set()
    root = django_user_model.objects.create_superuser("root", password="x" * 16)
    assert ModelBackend().get_all_permissions(root) == django_backends.ModelBackend().get_all_permissions(root)
