"""Quality gates: a regression in understanding fails CI. Figures are printed for the README."""

from __future__ import annotations

import pytest

from nlu.evaluate import evaluate, read_rows
from nlu.pipeline import Nlu
from tests.conftest import DEV_SET, OWN_TEST_SET


async def test_own_test_set_quality(nlu: Nlu) -> None:
    # Written independently of the training data and never trained on.
    rep = await evaluate(nlu, read_rows(OWN_TEST_SET))
    print("\n" + rep.render())
    assert rep.n >= 400
    assert rep.intent_accuracy >= 0.88
    assert rep.accuracy_by_lang["bg-latn"] >= 0.85
    assert rep.country_accuracy >= 0.95
    assert rep.urgent_recall >= 0.98
    assert rep.false_urgent_rate <= 0.02


@pytest.mark.skipif(not DEV_SET.exists(), reason=f"{DEV_SET} not found (shared/ is not beside the checkout)")
async def test_dev_set_targets(nlu: Nlu) -> None:
    # The targets, measured on the shared development set (evaluated, never trained on).
    rep = await evaluate(nlu, read_rows(DEV_SET))
    print("\n" + rep.render())
    assert rep.intent_accuracy >= 0.92
    assert rep.accuracy_by_lang["bg-latn"] >= 0.88
    assert rep.country_accuracy >= 0.95
    assert rep.urgent_recall == 1.0
    assert rep.false_urgent_rate <= 0.02
