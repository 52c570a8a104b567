"""Model versions over the REST API: list and card, clinic admins only."""

from __future__ import annotations

import pytest

from mlcore.models import ModelVersion
from octclinic.api_testing import PERSONAS, error_of, expected, persona_client


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_and_card_for_clinic_admins_only(db, persona):
    ModelVersion.objects.create(version="v1.2", artifact_path="x.keras", card={"classes": ["CNV", "DME"]})
    client = persona_client(persona)
    listed = client.get("/api/v1/model-versions/")
    assert listed.status_code == expected(persona, {"clinic_admin"}, 200)
    card = client.get("/api/v1/model-versions/v1.2/")
    assert card.status_code == expected(persona, {"clinic_admin"}, 200)
    if persona == "clinic_admin":
        assert [row["version"] for row in listed.json()["results"]] == ["v1.2"]
        assert "card" not in listed.json()["results"][0]
        assert card.json()["card"] == {"classes": ["CNV", "DME"]}
    else:
        error_of(card)


def test_unknown_version_is_404(db):
    response = persona_client("clinic_admin").get("/api/v1/model-versions/nope/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
