"""The fast one-message scorer gives scikit-learn's probabilities, to the last digits."""

from __future__ import annotations

import json

import numpy as np

from nlu.backends.builtin import BuiltinModel
from nlu.normalize import normalize
from tests.conftest import OWN_TEST_SET


def test_fast_scorer_matches_scikit_learn(nlu_model: BuiltinModel) -> None:
    texts = [json.loads(line)["text"] for line in OWN_TEST_SET.read_text(encoding="utf-8").splitlines()][:150]
    texts += ["", "😀", "x" * 3000, "123 456"]
    for text in texts:
        norm = normalize(text)
        fast = nlu_model._fast().proba(norm)
        ref = nlu_model.proba_reference(norm)
        assert np.allclose(fast, ref, atol=1e-9), text
