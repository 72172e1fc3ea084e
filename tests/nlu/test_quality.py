"""Quality gates: a regression in understanding fails CI. Figures are printed for the README."""

from __future__ import annotations

import pytest

from nlu.evaluate import evaluate, read_rows
from nlu.pipeline import Nlu
from tests.conftest import DEV_SET, MIXED_TEST_SET, OWN_TEST_SET, RISK_TEST_SET


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


async def test_independent_risk_set(nlu: Nlu) -> None:
    # 330 messages by three writers who saw only PRODUCT.md: indirect, third-party, long stories,
    # one or two words, discreet sexual exploitation, minors, stranded, plus harmless near-misses.
    rep = await evaluate(nlu, read_rows(RISK_TEST_SET))
    print("\n" + rep.render())
    assert rep.n >= 300
    assert rep.urgent_caught >= 0.95  # urgent, or the safety question asked (target 0.95; measured 0.972)
    assert rep.urgent_recall >= 0.80  # strictly urgent
    assert rep.harmless_false_urgent <= 0.03  # target 0.03 (measured 0.011)
    assert rep.harmless_ask_safety <= 0.10  # target 0.10 (measured 0.066)
    assert rep.third_party_recall is not None and rep.third_party_recall >= 0.85
    for kind in ("third_party", "long_story", "short", "minor", "stranded", "unpaid_cannot_leave"):
        assert rep.caught_by_kind[kind]["caught"] >= 0.9, kind


async def test_independent_mixed_set(nlu: Nlu) -> None:
    # 260 everyday questions in every script, non-EU destinations, bare country names, implied countries.
    rep = await evaluate(nlu, read_rows(MIXED_TEST_SET))
    print("\n" + rep.render())
    assert rep.intent_accuracy >= 0.95  # target 0.96 (measured 0.961)
    assert rep.accuracy_by_lang["bg-latn"] >= 0.94  # target 0.95 (measured 0.952)
    assert rep.country_accuracy >= 0.98  # target 0.98 (measured 0.992)
    assert rep.urgent_caught == 1.0
    assert rep.harmless_false_urgent <= 0.01
