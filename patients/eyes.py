"""The eye is a first-class notion: every scan, reading and decision belongs to one eye."""

from django.db import models


class Eye(models.TextChoices):
    # Latin abbreviations as used on OCT devices and in DICOM (Laterality R/L).
    OD = "OD", "OD (right eye)"
    OS = "OS", "OS (left eye)"

    @classmethod
    def from_dicom_laterality(cls, value: str | None) -> "Eye | None":
        return {"R": cls.OD, "L": cls.OS}.get((value or "").strip().upper())
