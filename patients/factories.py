import datetime as dt

import factory
from factory.django import DjangoModelFactory

from .models import CareTeam, Patient, Sex


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_between", start_date=dt.date(1930, 1, 1), end_date=dt.date(2005, 12, 31))
    sex = factory.Iterator([Sex.FEMALE, Sex.MALE])


class CareTeamFactory(DjangoModelFactory):
    class Meta:
        model = CareTeam
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)
