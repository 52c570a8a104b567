from __future__ import annotations

import re

from django import forms
from django.utils import timezone

from patients.eyes import Eye
from scheduling.models import Appointment

from .errors import IntakeError
from .limits import limit
from .services import scan_acquisition_date_check

ACCEPT = ".jpg,.jpeg,.png,.tif,.tiff,.dcm,.dicom,image/jpeg,image/png,image/tiff,application/dicom"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ScanUploadForm(forms.Form):
    """Metadata shared by every file of one upload; the files themselves are read by the view.

    Files are not a form field on purpose: Django's FileField would refuse an empty file with its
    own wording before intake could name the file and the reason like every other refusal.
    """

    eye = forms.ChoiceField(choices=Eye.choices, widget=forms.RadioSelect)
    acquired_on = forms.DateField(
        label="Acquisition date",
        help_text="For JPEG, PNG and TIFF files. A DICOM file keeps the acquisition date in its own header; this "
        "date is used only for a DICOM file without one.",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    appointment = forms.ModelChoiceField(queryset=Appointment.objects.none(), required=False)
    confirm_identity_mismatch = forms.BooleanField(
        required=False,
        label="Store despite identity mismatch",
        help_text="Only if you are sure the files belong to this patient and eye although their DICOM header differs.",
    )
    files = forms.Field(
        required=False,
        label="Files (JPEG, PNG, TIFF, DICOM)",
        widget=MultipleFileInput(attrs={"accept": ACCEPT, "multiple": True}),
    )

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.fields["appointment"].queryset = Appointment.objects.filter(patient=patient).order_by("-start")
        self.fields["appointment"].label_from_instance = lambda a: (
            f"{timezone.localtime(a.start):%d.%m.%Y %H:%M} ({a.get_status_display()})"
        )

    def clean_acquired_on(self):
        """The intake's own rule (``services.scan_acquisition_date_check``), shown on the field before any upload."""
        value = self.cleaned_data["acquired_on"]
        try:
            scan_acquisition_date_check(acquired_on=value, patient=self.patient)
        except IntakeError as exc:
            raise forms.ValidationError(exc.reason[:1].upper() + exc.reason[1:] + ".") from exc
        return value


_FRAMES_RE = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")


class FrameSelectForm(forms.Form):
    frames = forms.CharField(
        label="Frames for the AI reading",
        help_text="Frame numbers as shown (1 = first), e.g. “64” or “60-64, 70”.",
        max_length=500,
    )

    def __init__(self, *args, frame_count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.frame_count = frame_count

    def clean_frames(self) -> list[int]:
        raw = self.cleaned_data["frames"]
        if not _FRAMES_RE.match(raw):
            raise forms.ValidationError("Use frame numbers and ranges separated by commas, e.g. 60-64, 70.")
        chosen: set[int] = set()
        for part in raw.split(","):
            bounds = [int(x) for x in part.split("-")]
            low, high = bounds[0], bounds[-1]
            if low > high:
                low, high = high, low
            if low < 1 or high > self.frame_count:
                raise forms.ValidationError(f"Frames must be between 1 and {self.frame_count}.")
            chosen.update(range(low - 1, high))
        maximum = limit("SCANS_MAX_AI_FRAMES")
        if len(chosen) > maximum:
            raise forms.ValidationError(
                f"At most {maximum} frames of a scan can be read by the AI; {len(chosen)} were chosen."
            )
        return sorted(chosen)


def frames_display(indices) -> str:
    """0-based indices as the 1-based ranges staff type (“60-64, 70”)."""
    numbers = sorted(i + 1 for i in indices)
    parts, start, previous = [], None, None
    for n in numbers:
        if start is None:
            start = previous = n
        elif n == previous + 1:
            previous = n
        else:
            parts.append(f"{start}-{previous}" if previous != start else str(start))
            start = previous = n
    if start is not None:
        parts.append(f"{start}-{previous}" if previous != start else str(start))
    return ", ".join(parts)


class DatasetImportForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="Defaults to the folder or archive name.")
    archive = forms.FileField(
        required=False, help_text="A ZIP laid out CLASS/*, train|val|test/CLASS/* or with labels.csv."
    )
    folder = forms.CharField(
        required=False, max_length=500, help_text="Or a folder on the server (inside SCANS_DATASET_IMPORT_ROOTS)."
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("archive")) == bool(data.get("folder")):
            raise forms.ValidationError("Upload an archive or give a server folder (one of the two).")
        return data
