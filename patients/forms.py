from django import forms
from django.utils import timezone

from .models import Patient
from .services import mrn_normalize


class MRNField(forms.CharField):
    """Normalises before validating, so 'ab-1234' is accepted and stored as 'AB-1234'."""

    def to_python(self, value):
        return mrn_normalize(super().to_python(value))


class PatientForm(forms.ModelForm):
    """Checks what it can up front; the service re-validates, and the view shows its errors too."""

    class Meta:
        model = Patient
        fields = [
            "mrn",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "care_team",
            "phone",
            "email",
            "address",
            "notes",
        ]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        field_classes = {"mrn": MRNField}
        help_texts = {"mrn": "Medical record number: capital letters, digits and hyphens."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mrn"].widget.attrs.update({"autocomplete": "off", "autocapitalize": "characters"})

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        if value and value > timezone.localdate():
            raise forms.ValidationError("The date of birth can't be in the future.")
        return value


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "MRN, name or date of birth", "type": "search"}),
    )
    include_archived = forms.BooleanField(required=False, label="Include archived")
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
