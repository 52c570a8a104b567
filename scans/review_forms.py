"""Forms of the review screen. The service re-validates everything; these give the doctor field errors."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from mlcore.labels import CLASSES

from .models import ReviewDecision


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

    def __init__(self, *args, requested_by=None, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth.models import Permission
        from django.db.models import Q

        permission = Permission.objects.get(content_type__app_label="scans", codename="review_scan")
        self.fields["colleague"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(Q(groups__permissions=permission) | Q(user_permissions=permission))
            .exclude(pk=getattr(requested_by, "pk", None))
            .distinct()
            .order_by("last_name", "first_name", "username")
        )
        self.fields["colleague"].label_from_instance = lambda u: u.get_full_name() or u.username
