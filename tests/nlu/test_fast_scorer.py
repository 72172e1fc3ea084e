"""The fast one-message scorer gives scikit-learn's probabilities, to the last digits."""

from __future__ import annotations

import json

import numpy as np

from nlu.backends.builtin import BuiltinModel
from nlu.embedding import shared_embedder
from nlu.normalize import normalize
from tests.conftest import OWN_TEST_SET


def test_fast_scorer_matches_scikit_learn(nlu_model: BuiltinModel) -> None:
    texts = [json.loads(line)["text"] for line in OWN_TEST_SET.read_text(encoding="utf-8").splitlines()][:150]
    texts += ["", "😀", "x" * 3000, "123 456"]
    embedder = shared_embedder()
    assert nlu_model.embed_weight > 0  # the model reads sentence embeddings too
    for text in texts:
        norm = normalize(text)
        vec = embedder.embed([norm.text])[0]
        fast = nlu_model._fast().proba(norm, vec)
        ref = nlu_model.proba_reference(norm, vec)
        assert np.allclose(fast, ref, atol=1e-9), text


def test_fast_risk_scorer_matches_scikit_learn(nlu_model: BuiltinModel) -> None:
    from nlu.riskmodel import _features, pieces

    risk = nlu_model.risk
    assert risk is not None and risk.screen_clf is not None and risk.third_party_clf is not None
    texts = [json.loads(line)["text"] for line in OWN_TEST_SET.read_text(encoding="utf-8").splitlines()][:150]
    texts += ["😀", "x" * 3000, "123 456", "Взеха ни паспортите. Не ни пускат да излезем. " * 12]
    embedder = shared_embedder()
    fast = risk._fast()
    for text in texts:
        norm = normalize(text)
        parts = [normalize(p, norm.language) for p in pieces(norm.lower)]
        vecs = embedder.embed([p.text for p in parts])
        grams = fast.grams(parts)
        x = _features(vecs, risk.grams.transform([p.skeleton for p in parts]))
        assert np.allclose(fast.proba(risk.level_clf, grams, vecs), risk.level_clf.predict_proba(x), atol=1e-9), text
        assert np.allclose(
            fast.proba(risk.third_party_clf, grams, vecs), risk.third_party_clf.predict_proba(x), atol=1e-9
        )
        ref = risk.screen_clf.predict_proba(risk.grams.transform([p.skeleton for p in parts]))
        assert np.allclose(fast.proba(risk.screen_clf, grams), ref, atol=1e-9), text


def test_ngram_rows_match_the_vectorizer_they_came_from() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from nlu.tfidf import NgramRows

    corpus = ["взеха ни паспортите", "iskam rabota v germaniq", "They took our PASSPORTS", "работа работа в Италия"]
    texts = [*corpus, "", "  two  spaces\tand\nlines ", "ПАСПОРТ паспорт паспорт", "nothing known here", "a"]
    for vec in (
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"),
    ):
        vec.fit(corpus)
        rows = NgramRows(vec)
        assert rows.by_word == (vec.analyzer == "char_wb")
        for text in texts * 2:  # the second time from the remembered words
            cols, vals = rows(text)
            ref = np.zeros(len(vec.vocabulary_))
            ref[cols] = vals
            assert np.allclose(ref, vec.transform([text]).toarray()[0], atol=1e-12), (vec.analyzer, text)
