"""Staff factories: a user per role, as the persona fixtures in conftest.py use them."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from .roles import CLINIC_ADMIN, DOCTOR, TECHNICIAN, user_staff_flag

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.test")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    role = factory.PostGeneration(lambda user, create, extracted, **kw: _role_assign(user, create, extracted))


def _role_assign(user, create: bool, role: str | None) -> None:
    if not create:
        return
    if role:
        user.groups.add(Group.objects.get(name=role))
        user.is_staff = user_staff_flag(user)
    user.save()


class TechnicianFactory(UserFactory):
    username = factory.Sequence(lambda n: f"tech{n}")
    role = factory.PostGeneration(
        lambda user, create, extracted, **kw: _role_assign(user, create, extracted or TECHNICIAN)
    )


class DoctorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"doctor{n}")
    role = factory.PostGeneration(lambda user, create, extracted, **kw: _role_assign(user, create, extracted or DOCTOR))


class ClinicAdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"clinicadmin{n}")
    role = factory.PostGeneration(
        lambda user, create, extracted, **kw: _role_assign(user, create, extracted or CLINIC_ADMIN)
    )
