"""``evaluate_model --data DIR --device NAME``: a version validated on one OCT device's labelled scans before
go-live; the report names the device and the result is recorded for the per-device readiness table."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlcore.device_validation import device_validations_latest
from mlcore.models import DeviceValidation
from mlcore.tests.conftest import card_copy, registry_row

pytestmark = pytest.mark.slow


def test_the_report_names_the_device_and_the_result_is_recorded(db, tiny_card, phantom_dir):
    registry_row(card_copy(tiny_card, version="dev-v"))
    out = StringIO()
    call_command(
        "evaluate_model", "--version", "dev-v", "--data", str(phantom_dir), "--device", "Optovue RTVue XR", stdout=out
    )
    text = out.getvalue()
    assert "(device: Optovue RTVue XR)" in text and "recorded as the validation of dev-v on Optovue RTVue XR" in text
    (record,) = DeviceValidation.objects.all()
    assert (record.device, record.n, record.data_name) == ("Optovue RTVue XR", 40, phantom_dir.name)
    assert 0.0 <= record.accuracy <= 1.0 and record.report["n"] == 40
    assert device_validations_latest(versions=["dev-v"])[("Optovue RTVue XR", "dev-v")] == record

    out = StringIO()
    call_command(
        "evaluate_model",
        "--version",
        "dev-v",
        "--data",
        str(phantom_dir),
        "--device",
        "Zeiss Cirrus",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["device"] == "Zeiss Cirrus"


def test_without_a_device_nothing_is_recorded_and_a_blank_device_is_refused(db, tiny_card, phantom_dir):
    registry_row(card_copy(tiny_card, version="dev-w"))
    call_command("evaluate_model", "--version", "dev-w", "--data", str(phantom_dir), stdout=StringIO())
    assert not DeviceValidation.objects.exists()
    with pytest.raises(CommandError, match="Name the device"):
        call_command("evaluate_model", "--version", "dev-w", "--data", str(phantom_dir), "--device", "  ")
    assert not DeviceValidation.objects.exists()
