"""``model_version_provenance``: what a reading says about the model that made it (synthetic / intended use,
the notice, the evaluation headline from cross-validation, the card's test split or the lifecycle report), in at
most one query for any number of versions."""

import pytest

from mlcore.models import ModelVersion, ModelVersionLifecycle
from mlcore.selectors import SYNTHETIC_NOTICE, model_version_provenance, model_versions_provenance

pytestmark = pytest.mark.django_db
TEST_SPLIT = {"n": 135, "accuracy": 0.78, "urgent_sensitivity": 0.92, "urgent_specificity": 0.85}


def _version(name: str, **card) -> ModelVersion:
    return ModelVersion.objects.create(version=name, artifact_path=f"{name}.keras", card=card)


def test_synthetic_is_never_for_clinical_use():
    provenance = model_version_provenance(model_version=_version("demo", training_data={"synthetic": True}))
    assert (provenance["synthetic"], provenance["clinical_use"], provenance["notice"]) == (
        True,
        False,
        SYNTHETIC_NOTICE,
    )
    assert provenance["headline"] is None and provenance["headline_text"] == "not evaluated"


@pytest.mark.parametrize(
    ("use", "clinical"), [(None, True), ("clinical", True), ("Clinical", True), ("research", False)]
)
def test_intended_use(use, clinical):
    card = {"intended_use": use} if use else {}
    provenance = model_version_provenance(model_version=_version("m", **card))
    assert provenance["clinical_use"] is clinical and provenance["synthetic"] is False
    assert provenance["notice"] == ("" if clinical else "research model — not for clinical use")


def test_headline_prefers_cross_validation_then_the_cards_test_split():
    cv = {"headline": {**TEST_SPLIT, "n": 540, "accuracy": 0.81, "folds": 5}}
    both = model_version_provenance(model_version=_version("cv", cross_validation=cv, metrics={"test": TEST_SPLIT}))
    assert both["headline"]["source"] == "cross_validation" and both["headline"]["folds"] == 5
    assert (
        both["headline_text"] == "accuracy 0.81 · urgent-referral sensitivity 0.92 · n = 540 (5-fold cross-validation)"
    )
    split = model_version_provenance(model_version=_version("split", metrics={"test": TEST_SPLIT}))
    assert split["headline"] == {**TEST_SPLIT, "folds": None, "source": "test_split"}


def test_lifecycle_report_in_one_query_for_many_versions(django_assert_num_queries):
    versions = [_version(f"old-{i}") for i in range(4)] + [_version("carded", metrics={"test": TEST_SPLIT})]
    for version in versions[:2]:
        ModelVersionLifecycle.objects.create(model_version=version, evaluation=TEST_SPLIT)
    with django_assert_num_queries(1):
        provenance = model_versions_provenance(model_versions=versions)
    assert [provenance[v.pk]["headline"] is not None for v in versions] == [True, True, False, False, True]
    with django_assert_num_queries(0):
        model_versions_provenance(model_versions=versions[-1:])
    selected = list(ModelVersion.objects.select_related("lifecycle").filter(version__startswith="old-"))
    with django_assert_num_queries(0):
        assert sum(p["headline"] is not None for p in model_versions_provenance(model_versions=selected).values()) == 2
