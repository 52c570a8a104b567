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
