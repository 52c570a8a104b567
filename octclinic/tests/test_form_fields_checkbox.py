"""The shared form partial puts a checkbox inside its label, so its help text can't cover the box (issue #19)."""

from django import forms
from django.template.loader import render_to_string


class _Form(forms.Form):
    agree = forms.BooleanField(required=False, label="I checked the identity", help_text="Tick only if sure.")
    note = forms.CharField(required=False, label="Note", help_text="Optional.")


def test_a_checkbox_sits_inside_its_label_and_other_inputs_follow_theirs():
    html = render_to_string("partials/form_fields.html", {"form": _Form()})
    label_start = html.index('<label for="id_agree">')
    assert label_start < html.index('id="id_agree"') < html.index("</label>", label_start)
    assert html.index("I checked the identity") < html.index("Tick only if sure.")
    note_label_end = html.index("</label>", html.index('<label for="id_note">'))
    assert note_label_end < html.index('id="id_note"')
