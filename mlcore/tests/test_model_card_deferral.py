"""The model card page shows the deferral section (threshold, target accuracy, validation coverage and the
risk–coverage curve as inline SVG with a table), calibration, the non-OCT detector and the cross-validation
headline when the card has them; an older card without them shows none of these sections."""

import html

import pytest
from django.urls import reverse

from mlcore.card_figures import card_sections, risk_coverage_points
from mlcore.models import ModelVersion

pytestmark = pytest.mark.django_db
CARD = {
    "deferral": {
        "threshold": 0.62,
        "target_accuracy": 0.9,
        "validation_coverage": 0.74,
        "risk_coverage": [
            {"coverage": 1.0, "accuracy": 0.78, "threshold": 0.0},
            {"coverage": 0.5, "accuracy": 0.95, "threshold": 0.8},
            {"coverage": 0.74, "accuracy": 0.9, "threshold": 0.62},
        ],
    },
    "calibration": {"temperature": 1.37, "ece_before": 0.081, "ece_after": 0.024},
    "ood": {"version": "retina-band-v1", "text": "refuses images without a layered retina band"},
    "cross_validation": {
        "headline": {"accuracy": 0.81, "urgent_sensitivity": 0.93, "urgent_specificity": 0.86, "n": 540, "folds": 5}
    },
}


def _version(name: str, card: dict) -> ModelVersion:
    return ModelVersion.objects.create(version=name, artifact_path=f"{name}.keras", card=card)


def test_the_card_page_draws_the_risk_coverage_curve(doctor_client):
    _version("v-new", CARD)
    response = doctor_client.get(reverse("mlcore:card", args=["v-new"]))
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "<svg" in page and "data-risk-coverage" in page and "<script" not in page.split("data-risk-coverage")[1]
    assert page.count("<circle") == 3 and '<path d="M' in page
    assert "coverage 74.0%, accuracy 90.0%, threshold 0.620" in page  # each point's hover text
    table = page.split("data-risk-coverage-table")[1].split("</table>")[0]
    assert [row.count("<td>") for row in table.split("<tr>")[2:]] == [3, 3, 3]
    assert "<td>0.500</td><td>0.950</td>" in table  # sorted by coverage
    assert "under <strong>0.620</strong>" in page and "0.900" in page and "0.740" in page
    assert "data-calibration" in page and "1.370" in page and "0.081" in page and "<strong>0.024</strong>" in page
    assert "retina-band-v1" in page and "refuses images without a layered retina band" in page
    assert "data-cross-validation" in page and "5 folds" in page and "540 images" in page


def test_an_old_card_shows_none_of_it(doctor_client):
    _version("v-old", {"temperature": 1.2, "metrics": {}})
    page = doctor_client.get(reverse("mlcore:card", args=["v-old"])).content.decode()
    for marker in ("data-risk-coverage", "data-deferral", "data-calibration", "data-ood", "data-cross-validation"):
        assert marker not in page


def test_partial_or_malformed_sections_are_left_out():
    assert risk_coverage_points({"deferral": {"risk_coverage": [{"coverage": "x"}, 3, {"coverage": 0.5}]}}) == []
    sections = card_sections({"deferral": {"threshold": 0.5}, "calibration": "n/a", "ood": []})
    assert sections["deferral"] == {"threshold": 0.5, "target_accuracy": None, "validation_coverage": None}
    assert sections["risk_coverage_svg"] == "" and sections["calibration"] is None and sections["ood"] is None
    assert card_sections(None)["deferral"] is None
