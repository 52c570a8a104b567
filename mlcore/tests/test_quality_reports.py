"""A recipe's cross-validation report reaches a card only for the very recipe and data it measured."""

import dataclasses

from mlcore import quality_reports
from mlcore.services import cross_validation_for
from mlcore.training_params import TrainingParams


def test_the_report_follows_its_recipe_and_data_and_a_damaged_one_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setattr(quality_reports, "QUALITY_DIR", tmp_path / "quality")
    data = tmp_path / "oct"
    data.mkdir()
    params = dataclasses.replace(TrainingParams(), data=str(data))
    quality_reports.cv_report_save(
        signature=params.recipe_signature(), report={"data": str(data), "headline": {"accuracy": 0.8, "n": 10}}
    )
    assert cross_validation_for(params)["headline"]["accuracy"] == 0.8
    assert cross_validation_for(dataclasses.replace(params, epochs=3)) is None  # another recipe
    other = tmp_path / "other"
    other.mkdir()
    assert cross_validation_for(dataclasses.replace(params, data=str(other))) is None  # other data
    assert cross_validation_for(dataclasses.replace(params, data="clinic")) is None
    quality_reports.cv_report_path(params.recipe_signature()).write_text("{not json")
    assert cross_validation_for(params) is None
