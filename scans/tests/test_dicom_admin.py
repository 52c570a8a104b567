"""The DICOM rows are visible in the admin and changed only by their services (no add, edit or delete)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from scans.models import PacsRetrieval, ReceivedInstance


@pytest.mark.parametrize("model", [ReceivedInstance, PacsRetrieval])
def test_dicom_rows_are_read_only_in_the_admin(db, patient, model):
    admin_user = get_user_model().objects.create_superuser("root-dicom", "root@example.org", "x-unused-password")
    client = Client()
    client.force_login(admin_user)
    if model is PacsRetrieval:
        row = PacsRetrieval.objects.create(patient=patient, study_instance_uid="1.2.3")
    else:
        row = ReceivedInstance.objects.create(sha256="0" * 64, size_bytes=1, reason="unknown_patient")
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
    change = client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]), {})
    assert change.status_code == 403
    delete = client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[row.pk]), {"post": "yes"})
    assert delete.status_code == 403 and model.objects.filter(pk=row.pk).exists()
