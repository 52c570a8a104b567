"""Forms of the DICOM pages: assigning a held instance to a patient, sending a visit report to the PACS."""

from __future__ import annotations

from django import forms

from patients.eyes import Eye
from patients.selectors import patient_by_mrn


class ReconciliationAssignForm(forms.Form):
    mrn = forms.CharField(label="Patient MRN", max_length=20)
    eye = forms.ChoiceField(choices=Eye.choices, widget=forms.RadioSelect)
    confirm_identity_mismatch = forms.BooleanField(
        required=False,
        label="Store despite identity mismatch",
        help_text="Only if you are sure the image belongs to this patient and eye although its DICOM header differs.",
    )

    def clean_mrn(self):
        mrn = self.cleaned_data["mrn"].strip()
        patient = patient_by_mrn(mrn)
        if patient is None:
            raise forms.ValidationError("No patient has this MRN.")
        if patient.is_archived:
            raise forms.ValidationError("This patient is archived; restore the patient first.")
        self.patient = patient
        return mrn


class VisitReportForm(forms.Form):
    eye = forms.ChoiceField(choices=Eye.choices)
    day = forms.DateField(
        required=False,
        label="Visit day (empty: the latest)",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
