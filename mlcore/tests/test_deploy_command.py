"""``manage.py deploy_model VERSION | --rollback``."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlcore.selectors import model_version_deployed
from mlcore.tests.conftest import card_copy, registry_row


def test_deploy_then_rollback(db, tiny_card):
    registry_row(card_copy(tiny_card, version="one"))
    registry_row(card_copy(tiny_card, version="two"))
    out = StringIO()
    call_command("deploy_model", "one", "--reason", "first", "--override-reason", "tests", stdout=out)
    call_command("deploy_model", "two", "--reason", "second", "--override-reason", "tests", stdout=out)
    assert model_version_deployed().version == "two"
    call_command("deploy_model", "--rollback", "--reason", "undo", stdout=out)
    assert model_version_deployed().version == "one"
    assert "Rolled back: one is deployed" in out.getvalue()


def test_clear_errors(db):
    with pytest.raises(CommandError, match="No model version 'ghost'"):
        call_command("deploy_model", "ghost", "--reason", "x")
    with pytest.raises(CommandError, match="No previously deployed"):
        call_command("deploy_model", "--rollback", "--reason", "x")
    with pytest.raises(CommandError, match="Give a VERSION"):
        call_command("deploy_model")
