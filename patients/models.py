from django.conf import settings
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

MRN_VALIDATOR = RegexValidator(
    regex=r"^[A-Z0-9][A-Z0-9-]{3,19}$",
    message="An MRN is 4 to 20 characters: capital letters, digits and hyphens, starting with a letter or digit.",
)


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "O", "Other"
    UNKNOWN = "U", "Unknown"


class CareTeam(models.Model):
    """A group of staff who look after a set of patients; doctors see only their teams' patients.

    Membership is the everyday access rule (a query, not per-row grants), so moving a patient to another team
    moves who may see them in one write.
    """

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="care_teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Patient(models.Model):
    """A person whose eyes the clinic images. Never deleted: archived, so history stays intact."""

    mrn = models.CharField(
        "MRN",
        max_length=20,
        unique=True,
        validators=[MRN_VALIDATOR],
        error_messages={"unique": "Another patient already has this MRN."},
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    # Free text has a ceiling (issue #18: a 3 MB note was stored, echoed and copied into the audit trail).
    address = models.TextField(blank=True, max_length=500, validators=[MaxLengthValidator(500)])
    notes = models.TextField(blank=True, max_length=5000, validators=[MaxLengthValidator(5000)])
    care_team = models.ForeignKey(
        CareTeam,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
        help_text="Doctors see and review only the patients of their own care teams.",
    )

    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["last_name", "first_name", "mrn"]
        permissions = [
            ("archive_patient", "Can archive and restore patients"),
            ("view_all_patients", "Can see every patient, whatever their care team"),
        ]
        indexes = [
            models.Index(Lower("last_name"), Lower("first_name"), name="patient_name_idx"),
            models.Index(fields=["date_of_birth"], name="patient_dob_idx"),
            # The API list's order: its pages come off the index instead of sorting every patient per request.
            models.Index(fields=["last_name", "first_name", "id"], name="patient_list_order_idx"),
        ]

    def __str__(self) -> str:
        # Deliberately no name: object reprs end up in logs and admin messages.
        return f"Patient #{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"
