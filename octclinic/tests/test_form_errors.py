"""One place maps a service's ValidationError onto form fields (issue #17, part 5)."""

from django import forms
from django.core.exceptions import ValidationError

from octclinic.form_errors import form_service_errors_add


class SlotForm(forms.Form):
    start_time = forms.TimeField(required=False)
    note = forms.CharField(required=False)


def bound() -> SlotForm:
    form = SlotForm({"start_time": "09:00", "note": "x"})
    assert form.is_valid()
    return form


def test_keyed_errors_land_on_the_field_of_that_name_or_the_mapped_one():
    form = bound()
    error = ValidationError({"note": ["Too long."], "start": ["In the past."], "colleague": ["Not a doctor."]})
    form_service_errors_add(form, error, fields={"start": "start_time"})
    assert form.errors["note"] == ["Too long."]
    assert form.errors["start_time"] == ["In the past."]
    assert form.non_field_errors() == ["Not a doctor."]  # no such field here: shown above the form


def test_plain_and_all_errors_go_above_the_form():
    form = bound()
    form_service_errors_add(form, ValidationError("Already reviewed."))
    form_service_errors_add(form, ValidationError({"__all__": ["Closed."]}))
    assert form.non_field_errors() == ["Already reviewed.", "Closed."]
