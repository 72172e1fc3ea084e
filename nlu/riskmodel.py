"""The learned half of risk: none / elevated / urgent and "about someone else", from sentence embeddings.

People in danger describe what happens (where they sleep, who holds the passport, what happens if
they leave) far more often than they name it, so keyword rules alone miss them. This model reads
the meaning: a logistic regression over multilingual-e5-small embeddings of the normalised text,
trained on our labelled risk examples (nlu/risk_data) plus the intent examples. The rules in
nlu/risk.py stay as a floor: the pipeline never lowers what a rule found.

The features are the embedding (meaning, across languages and spellings) and TF-IDF character
n-grams of the spelling-folded text (the words people actually use); together they separate
"they keep our passports" from "where do I renew my passport" better than either alone (measured:
on the independent risk set, embedding alone caught 76% of urgent messages as urgent at 9% false
alarms, both together 88% at 6%, the rules included).

A long message is read whole, in pieces of a few sentences; the most worrying piece decides, so
danger mentioned only in the last line of a long story still counts. Embedding every piece of a long
story is what makes it slow, so a screen looks first: a second, n-gram-only regression ("could this
piece be risky at all?") whose threshold lets through 99.5% of a held-out writer's risky examples; a
piece below it is not embedded and counts as harmless (the rules still read every piece); the pieces
that pass are read most risky first, and reading stops at the first urgent one (nlu/pipeline.py). The same
screen spares a one-piece message the embedding when the intent classifier did not need it either
(nlu/pipeline.py: the n-gram intent model is sure and the rules find nothing).

The decision thresholds are calibrated at training time on "leave one writer out" predictions: each
file of nlu/risk_data (written by a different writer) is scored by a model trained without it, as
new messages would be, and the thresholds are set so that about 1.5% of its harmless examples
(messages with scary words that are not danger) would be called urgent and 5% would get the safety
question. Ordinary k-fold predictions were far too confident: a writer's near-paraphrases sit in
both halves. The thresholds are saved with the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlu.embedding import Embedder
from nlu.normalize import Normalized
from nlu.tfidf import NgramRows

LEVELS = ("none", "elevated", "urgent")
PIECE_CHARS = 280  # about three short sentences: long enough for context, short for the model
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\n+")


@dataclass(frozen=True)
class RiskExample:
    text: str
    level: str  # none / elevated / urgent
    third_party: bool = False
    source: str = ""  # the nlu/risk_data file it came from ("" for an intent example)


@dataclass(frozen=True)
class RiskScore:
    """Probabilities for the most worrying piece of a message."""

    urgent: float
    elevated: float
    third_party: float


@dataclass(frozen=True)
class RiskThresholds:
    urgent: float = 0.6  # at or above: urgent
    ask: float = 0.25  # at or above (and below urgent): ask "are you safe?"
    elevated: float = 0.5  # elevated + urgent probability at or above: elevated
    third_party: float = 0.5


def pieces(text: str, limit: int = PIECE_CHARS) -> list[str]:
    """Split a message into pieces of whole sentences of at most ``limit`` characters (one piece when short)."""
    if len(text) <= limit:
        return [text]
    out: list[str] = []
    cur = ""
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        while len(sentence) > limit:  # a run-on sentence with no full stops: cut at a space
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            if cur:
                out.append(cur)
                cur = ""
            out.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if not sentence:
            continue
        if cur and len(cur) + 1 + len(sentence) > limit:
            out.append(cur)
            cur = sentence
        else:
            cur = f"{cur} {sentence}".strip()
    if cur:
        out.append(cur)
    return out or [text[:limit]]


EMBEDDING_WEIGHT = 2.0  # the embedding's share beside the n-grams (both rows are L2-normalised)


def _features(vecs: np.ndarray[Any, Any], grams: sp.csr_matrix) -> sp.csr_matrix:
    return sp.hstack([sp.csr_matrix(vecs * EMBEDDING_WEIGHT), grams]).tocsr()


def _grams() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)


SCREEN_PASS = 0.995  # share of a held-out writer's risky examples the piece screen must let through


@dataclass
class RiskModel:
    embedder_name: str
    grams: TfidfVectorizer
    level_clf: LogisticRegression
    third_party_clf: LogisticRegression | None  # None when the data has no third-party example
    thresholds: RiskThresholds = field(default_factory=RiskThresholds)
    n_examples: int = 0
    screen_clf: LogisticRegression | None = None  # n-grams only: risky (urgent or elevated) or not
    screen_floor: float = 0.0  # a piece of a long message scoring below this is not embedded

    def screen_scores(self, parts: Sequence[Normalized], even_one: bool = False) -> list[float]:
        """The screen's "could this piece be risky" score of each piece (1.0 for each piece of a
        one-piece message unless ``even_one``, and without a screen)."""
        if self.screen_clf is None or (len(parts) < 2 and not even_one):
            return [1.0] * len(parts)
        fast = self._fast()
        p = fast.proba(self.screen_clf, fast.grams(parts))
        return [float(v) for v in p[:, list(self.screen_clf.classes_).index(True)]]

    def score(self, parts: Sequence[Normalized], vecs: np.ndarray[Any, Any]) -> RiskScore:
        """Scores of the pieces of one message (their texts' embeddings in ``vecs``): the most worrying wins."""
        fast = self._fast()
        grams = fast.grams(parts)
        p = fast.proba(self.level_clf, grams, vecs)
        cls = list(self.level_clf.classes_)
        u = p[:, cls.index("urgent")]
        e = p[:, cls.index("elevated")]
        worst = int(np.argmax(u + 0.5 * e))
        tp = 0.0
        if self.third_party_clf is not None:
            tp_p = fast.proba(self.third_party_clf, grams, vecs)
            tp = float(tp_p[:, list(self.third_party_clf.classes_).index(True)].max())
        return RiskScore(float(u[worst]), float(e[worst]), tp)

    def _fast(self) -> _FastRisk:
        fast: _FastRisk | None = getattr(self, "_fast_scorer", None)
        if fast is None:
            fast = _FastRisk(self.grams)
            self._fast_scorer = fast
        return fast


class _FastRisk:
    """TfidfVectorizer.transform + LogisticRegression.predict_proba for the few pieces of one message
    without scikit-learn's input checks and sparse matrices: about a tenth of their time (which was
    2-3 ms of an embedded parse)."""

    def __init__(self, grams: TfidfVectorizer) -> None:
        self.tfidf = NgramRows(grams)
        self._coef: dict[int, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
        # the last pieces' rows: a long story's pieces are screened, then scored as they are read
        self._rows: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}

    def grams(self, parts: Sequence[Normalized]) -> list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        """Each piece's TF-IDF row (sublinear tf, l2 norm) as (columns, values)."""
        return [self._row(part.skeleton) for part in parts]

    def _row(self, skeleton: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        row = self._rows.get(skeleton)
        if row is None:
            cols, vals = self.tfidf(skeleton)
            if len(self._rows) >= 32:
                self._rows.clear()
            row = self._rows[skeleton] = (cols, vals)
        return row

    def proba(
        self,
        clf: LogisticRegression,
        grams: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
        vecs: np.ndarray[Any, Any] | None = None,
    ) -> np.ndarray[Any, Any]:
        coef_t, intercept = self._coef.get(id(clf)) or self._coef.setdefault(
            id(clf), (np.ascontiguousarray(clf.coef_.T), np.asarray(clf.intercept_))
        )
        dense = 0 if vecs is None else vecs.shape[1]  # the embedding's columns come first (_features)
        z = np.tile(intercept, (len(grams), 1))
        if vecs is not None:
            z += (vecs.astype(np.float64) * EMBEDDING_WEIGHT) @ coef_t[:dense]
        for i, (cols, vals) in enumerate(grams):
            if len(cols):
                z[i] += vals @ coef_t[cols + dense]
        if z.shape[1] == 1:  # binary: the logistic of the one score, as [P(classes_[0]), P(classes_[1])]
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def _classifier() -> LogisticRegression:
    return LogisticRegression(C=4.0, max_iter=4000, class_weight="balanced")


def _calibrate(
    p_urgent: np.ndarray[Any, Any], p_elevated: np.ndarray[Any, Any], harmless: np.ndarray[Any, Any]
) -> RiskThresholds:
    """Thresholds from held-out probabilities of the labelled harmless examples."""
    if not harmless.any():
        return RiskThresholds()
    # About 1.5% of a held-out writer's harmless messages above "urgent", 5% above "ask" (new writers
    # run about twice these rates: the targets are 3% and 10%); never below these floors.
    t_urgent = max(0.5, float(np.quantile(p_urgent[harmless], 0.985)))
    t_ask = min(t_urgent - 0.05, max(0.15, float(np.quantile(p_urgent[harmless], 0.95))))
    t_elev = max(0.4, float(np.quantile((p_urgent + p_elevated)[harmless], 0.95)))
    return RiskThresholds(urgent=round(t_urgent, 3), ask=round(t_ask, 3), elevated=round(t_elev, 3))


def _held_out_writer_scores(
    x: sp.csr_matrix, y: list[str], sources: list[str]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """P(urgent), P(elevated) of each labelled example from a model that never saw its writer's file,
    and which of them are harmless; only the labelled files are held out (intent examples always train)."""
    labels = np.array(y)
    src = np.array(sources)
    files = sorted(set(sources) - {""})
    p_u = np.zeros(len(y))
    p_e = np.zeros(len(y))
    held = np.zeros(len(y), dtype=bool)

    def held_out(name: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[str]]:
        out = src == name
        clf = _classifier().fit(x[~out], labels[~out])
        return out, clf.predict_proba(x[out]), list(clf.classes_)

    with ThreadPoolExecutor(max_workers=2) as pool:  # independent fits; much of a fit runs without the GIL
        for out, proba, cls in pool.map(held_out, files if len(files) > 1 else ()):
            p_u[out] = proba[:, cls.index("urgent")]
            p_e[out] = proba[:, cls.index("elevated")]
            held |= out
    return p_u, p_e, held & (labels == "none")


def _train_screen(g: sp.csr_matrix, y: list[str], sources: list[str]) -> tuple[LogisticRegression, float]:
    """The n-gram screen and its floor: the lowest score that still lets SCREEN_PASS of the risky
    examples of a writer it never saw through (each labelled file held out in turn)."""
    risky = np.array([level != "none" for level in y])
    src = np.array(sources)
    held: list[np.ndarray[Any, Any]] = []
    for name in sorted(set(sources) - {""}):
        out = src == name
        if not (risky & out).any():
            continue
        clf = _classifier().fit(g[~out], risky[~out])
        held.append(clf.predict_proba(g[out & risky])[:, list(clf.classes_).index(True)])
    floor = float(np.quantile(np.concatenate(held), 1 - SCREEN_PASS)) if held else 0.0
    return _classifier().fit(g, risky), round(floor, 4)


def train_risk(examples: Sequence[RiskExample], norms: Sequence[Normalized], embedder: Embedder) -> RiskModel:
    if len(examples) != len(norms):
        raise ValueError("one normalised text per example")
    y = [e.level for e in examples]
    if set(y) != set(LEVELS):
        raise ValueError(f"risk examples need every level {LEVELS}, got {sorted(set(y))}")
    grams = _grams().fit([n.skeleton for n in norms])
    g = grams.transform([n.skeleton for n in norms])
    x = _features(embedder.embed([n.text for n in norms]), g)
    tp = [e.third_party for e in examples]
    sources = [e.source for e in examples]
    thresholds = _calibrate(*_held_out_writer_scores(x, y, sources))
    level_clf = _classifier().fit(x, y)
    tp_clf = LogisticRegression(C=4.0, max_iter=4000, class_weight="balanced").fit(x, tp) if any(tp) else None
    screen_clf, screen_floor = _train_screen(g, y, sources)
    return RiskModel(embedder.name, grams, level_clf, tp_clf, thresholds, len(examples), screen_clf, screen_floor)
