"""A clinic admin deploys a candidate in a real browser (Debian chromium): the confirmation page shows what changes,
the gate's comparison and the refused checks; the deploy needs a reason and a written override; the version's page
and the models page show who did it and why, with the training queue and the shadow agreement."""

from __future__ import annotations

import pytest

from mlcore.models import ModelVersionLifecycle, ShadowReading
from mlcore.selectors import model_version_deployed
from mlcore.services import model_version_deploy, model_version_shadow_set
from mlcore.tests.conftest import card_copy, registry_row
from mlcore.tests.test_model_actions import deployable
from octclinic.testing import page_log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_deploy_with_confirmation_reason_and_override(page_factory, clinic_admin, tiny_card):
    live = deployable(registry_row(card_copy(tiny_card, version="live-b")))
    model_version_deploy(model_version=live, actor=None, reason="first model", via="command")
    candidate = registry_row(card_copy(tiny_card, version="cand-b"))
    ModelVersionLifecycle.objects.create(
        model_version=candidate,
        evaluation=live.lifecycle.evaluation,
        gating_passed=True,
        gating_reason="not worse than the deployed model: accuracy 0.910 vs 0.880",
        gating_report={
            "deployed_version": "live-b",
            "candidate": {"n": 48, "accuracy": 0.91, "urgent_sensitivity": 0.97, "urgent_specificity": 0.9},
            "deployed": {"n": 48, "accuracy": 0.88, "urgent_sensitivity": 0.95, "urgent_specificity": 0.86},
        },
    )
    model_version_shadow_set(model_version=candidate, shadow=True, actor=clinic_admin)
    for i, (deployed, said) in enumerate([("CNV", "CNV"), ("CNV", "DME"), ("NORMAL", "NORMAL")]):
        ShadowReading.objects.create(
            candidate=candidate, input_sha256=f"{i:064d}", deployed_version="live-b",
            deployed_label=deployed, candidate_label=said, agrees=deployed == said,
        )  # fmt: skip

    page = page_factory()
    page_log_in(page, clinic_admin.username)
    page.goto("/models/")
    page.wait_for_selector("[data-queue-workers]:not(:has-text('asking'))")  # the partial asked the broker
    assert "2 of 3" in page.inner_text("[data-shadow-live]")
    assert page.inner_text("[data-shadow-per-label] tr[data-label='CNV']").split("\t")[1:] == ["2", "1", "0.500"]
    screenshot(page, "mlcore-models-page-queue-shadow")

    page.goto("/models/cand-b/")
    page.click("[data-deploy-link]")
    page.wait_for_selector("[data-deploy-confirm]")
    assert "instead of live-b" in page.inner_text("[data-deploy-change]")
    assert "0.910" in page.inner_text("[data-gate-table]") and "0.880" in page.inner_text("[data-gate-table]")
    assert "never evaluated on this clinic's frozen test set" in page.inner_text("[data-deploy-problems]")
    screenshot(page, "mlcore-deploy-confirmation")

    page.fill("#id_reason", "better DME recall on the clinic's scans")
    page.click("[data-deploy-confirm] form button[type=submit]")
    assert "write why you override them" in page.inner_text("[data-deploy-confirm]")
    assert model_version_deployed().version == "live-b"
    page.fill("#id_override_reason", "evaluated by hand on last month's scans")
    page.click("[data-deploy-confirm] form button[type=submit]")
    page.wait_for_url("**/models/cand-b/")
    assert model_version_deployed().version == "cand-b"
    history = page.inner_text("[data-model-actions] tr[data-action='deploy']")
    assert clinic_admin.username in history and "live-b → cand-b" in history
    assert "better DME recall" in history and "evaluated by hand" in history
    screenshot(page, "mlcore-card-history")
