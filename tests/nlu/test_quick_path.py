"""The quick path: a message the cheap models are sure is harmless is answered without the sentence
embedding (most of a parse's time), and gets the answer the full reading would have given."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from nlu.backends.builtin import BuiltinBackend, BuiltinModel
from nlu.embedding import Embedder, shared_embedder
from nlu.normalize import Normalized
from nlu.pipeline import Nlu
from nlu.types import IntentPrediction
from tests.conftest import OWN_TEST_SET


class CountingEmbedder:
    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        self.texts += len(texts)
        return self.inner.embed(texts)


class FullReading(BuiltinBackend):
    """The same model with the quick path switched off: every message is embedded."""

    def quick_predict(self, norm: Normalized, sure_only: bool = True) -> IntentPrediction | None:
        return None


def _nlu(model: BuiltinModel, embedder: Embedder, full: bool = False) -> Nlu:
    backend = (FullReading if full else BuiltinBackend)(model, embedder)
    return Nlu(backend, risk_model=model.risk, embedder=embedder)


@pytest.mark.parametrize("text", ["здравейте", "hello", "menu", "благодаря, довиждане"])
async def test_a_sure_harmless_message_is_not_embedded(nlu_model: BuiltinModel, text: str) -> None:
    embedder = CountingEmbedder(shared_embedder())
    result = await _nlu(nlu_model, embedder).parse(text)
    assert embedder.texts == 0
    assert result.intent in {"greet", "menu", "goodbye"} and result.risk == "none"


@pytest.mark.parametrize(
    "text", ["взеха ми паспорта и не ме пускат да изляза", "помощ", "vzeha mi pasporta, ne mi plashtat"]
)
async def test_danger_is_always_read_by_the_risk_model(nlu_model: BuiltinModel, text: str) -> None:
    embedder = CountingEmbedder(shared_embedder())
    result = await _nlu(nlu_model, embedder).parse(text)
    assert embedder.texts >= 1
    assert result.risk == "urgent" and result.intent == "emergency"


async def test_quick_path_answers_like_the_full_reading(nlu_model: BuiltinModel) -> None:
    texts = [json.loads(line)["text"] for line in OWN_TEST_SET.read_text(encoding="utf-8").splitlines()]
    embedder = CountingEmbedder(shared_embedder())
    quick, full = _nlu(nlu_model, embedder), _nlu(nlu_model, shared_embedder(), full=True)
    skipped = same_intent = 0
    for text in texts:
        before = embedder.texts
        a = await quick.parse(text)
        skipped += embedder.texts == before
        b = await full.parse(text)
        assert (a.risk, a.ask_safety, a.country) == (b.risk, b.ask_safety, b.country), text
        same_intent += a.intent == b.intent
    assert skipped >= 0.2 * len(texts)  # the quick path is taken often enough to matter
    assert same_intent >= 0.99 * len(texts)


def test_the_quick_floor_is_the_same_for_the_same_data() -> None:
    """Training is reproducible: the held-out fits that place the floor are seeded."""
    from pathlib import Path

    from sklearn.feature_extraction.text import TfidfVectorizer

    from nlu.backends.builtin import _quick_floor
    from nlu.normalize import normalize
    from nlu.trainingdata import load_examples

    examples = load_examples(Path(__file__).parents[2] / "nlu" / "data")[::2]
    grams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit_transform(
        [normalize(e.text).skeleton for e in examples]
    )
    labels = [e.intent for e in examples]
    floors = {_quick_floor(grams.tocsr(), labels) for _ in range(2)}
    assert len(floors) == 1 and 0.0 < floors.pop() <= 1.01
