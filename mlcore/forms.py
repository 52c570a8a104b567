from django import forms

from mlcore.training_params import TrainingParams


class TrainingStartForm(forms.Form):
    """What a clinic admin may choose; the rest comes from settings. Data: the clinic's labels only (folders
    on the server are for ``manage.py train_model --data``)."""

    epochs = forms.IntegerField(min_value=1, max_value=500)
    input_size = forms.IntegerField(label="Image size (px)", min_value=75, max_value=600)
    fine_tune_depth = forms.IntegerField(
        label="Fine-tuning depth", min_value=0, required=False, help_text="Only with pre-trained base weights."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        defaults = TrainingParams.defaults()
        self.fields["epochs"].initial = defaults.epochs
        self.fields["input_size"].initial = defaults.input_size

    def params(self) -> dict:
        data = {"data": "clinic", "epochs": self.cleaned_data["epochs"], "input_size": self.cleaned_data["input_size"]}
        if self.cleaned_data.get("fine_tune_depth") is not None:
            data["fine_tune_depth"] = self.cleaned_data["fine_tune_depth"]
        return data


class DeployForm(forms.Form):
    """Deploying is a clinical action: a written reason always; a written override when the checks refuse."""

    reason = forms.CharField(
        label="Why deploy this version?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Recorded in the audit trail and on both versions' pages.",
        error_messages={"required": "Write why this version is deployed."},
    )
    override_reason = forms.CharField(
        label="Override the deploy checks: why is it safe anyway?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
    )

    def __init__(self, *args, problems: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems = list(problems or [])
        if not self.problems:
            del self.fields["override_reason"]

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Write why this version is deployed.")
        return reason

    def clean_override_reason(self) -> str:
        value = (self.cleaned_data.get("override_reason") or "").strip()
        if self.problems and not value:
            raise forms.ValidationError("The deploy checks refuse this version: write why you override them.")
        return value


class ReasonForm(forms.Form):
    """Roll back / retire: the reason is required and recorded."""

    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": "Write the reason."},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Write the reason.")
        return reason
