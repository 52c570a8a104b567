"""Forms of the review screen. The service re-validates everything; these give the doctor field errors."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from mlcore.labels import CLASSES

from .models import ReviewDecision
from .review_queue_keys import QUEUE_CLASSES
from .review_selectors import QUEUE_CLASS_NAMES, QUEUE_SCOPES, QueueFilters, second_opinion_colleagues


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.choices, widget=forms.HiddenInput, required=True)
    label = forms.ChoiceField(
        choices=[("", "— correct to —")] + [(c, c) for c in CLASSES], required=False, label="Correct to"
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        if data.get("decision") == ReviewDecision.CORRECTED and not data.get("label"):
            self.add_error("label", "Choose the label the scan should have.")
        return data


class SecondOpinionForm(forms.Form):
    colleague = forms.ModelChoiceField(queryset=get_user_model().objects.none(), label="Ask a colleague")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)

    def __init__(self, *args, requested_by=None, scan=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The same rule as the service's check: review_selectors.second_opinion_colleagues.
        self.fields["colleague"].queryset = second_opinion_colleagues(requested_by=requested_by, scan=scan)
        self.fields["colleague"].label_from_instance = lambda u: u.get_full_name() or u.username


class QueueFilterForm(forms.Form):
    """The review queue's filters (GET): values only, never patient data in the URL."""

    urgency = forms.ChoiceField(required=False, label="Urgency")
    device = forms.ModelChoiceField(queryset=None, required=False, label="Device", empty_label="All devices")
    since = forms.DateField(required=False, label="Scanned from", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="Scanned until", widget=forms.DateInput(attrs={"type": "date"}))
    scope = forms.ChoiceField(required=False, label="Show", choices=list(QUEUE_SCOPES.items()))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from scheduling.selectors import resources_all

        self.fields["urgency"].choices = [("", "All urgencies")] + [
            (name, QUEUE_CLASS_NAMES[name]) for name in QUEUE_CLASSES
        ]
        self.fields["device"].queryset = resources_all()

    def filters(self) -> QueueFilters:
        data = self.cleaned_data
        device = data.get("device")
        return QueueFilters(
            urgency=data.get("urgency") or "",
            device=device.pk if device else None,
            since=data.get("since"),
            until=data.get("until"),
            scope=data.get("scope") or "",
        )
