"""Built-in intent classifier: TF-IDF over character n-grams of the folded text and word n-grams,
with a logistic regression on top. Trains in seconds from nlu/data, no downloads."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlu.backends.base import BackendError
from nlu.normalize import Normalized, normalize
from nlu.trainingdata import Example, load_examples
from nlu.types import IntentPrediction

FORMAT = 1  # bump when the saved layout changes; an old file is then retrained, never misread


@dataclass
class BuiltinModel:
    chars: TfidfVectorizer
    words: TfidfVectorizer
    raw: TfidfVectorizer
    clf: LogisticRegression
    data_hash: str
    format: int = FORMAT

    def _features(self, norms: list[Normalized]) -> sp.csr_matrix:
        return sp.hstack(
            [
                self.chars.transform([n.skeleton for n in norms]),
                self.words.transform([n.text for n in norms]),
                self.raw.transform([n.lower for n in norms]),
            ]
        ).tocsr()

    def rank(self, norm: Normalized, top: int = 5) -> IntentPrediction:
        proba = self.clf.predict_proba(self._features([norm]))[0]
        order = np.argsort(proba)[::-1][:top]
        return IntentPrediction(tuple((str(self.clf.classes_[i]), float(proba[i])) for i in order))


def data_hash(data_dir: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(data_dir.glob("*.yml")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def train(examples: list[Example], digest: str = "") -> BuiltinModel:
    norms = [normalize(e.text) for e in examples]
    labels = [e.intent for e in examples]
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    raw = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), sublinear_tf=True, min_df=2)
    chars.fit([n.skeleton for n in norms])
    words.fit([n.text for n in norms])
    raw.fit([n.lower for n in norms])
    model = BuiltinModel(chars, words, raw, LogisticRegression(C=20.0, max_iter=3000), digest)
    model.clf.fit(model._features(norms), labels)
    return model


def train_from(data_dir: Path, out: Path) -> tuple[BuiltinModel, int, float]:
    start = time.perf_counter()
    examples = load_examples(data_dir)
    if not examples:
        raise BackendError(f"no training examples under {data_dir}")
    model = train(examples, data_hash(data_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    joblib.dump(model, tmp)
    tmp.replace(out)  # a crash mid-write never leaves a half model behind
    return model, len(examples), time.perf_counter() - start


def load(path: Path) -> BuiltinModel:
    if not path.exists():
        raise BackendError(f"no NLU model at {path}: run 'sigurno nlu train'")
    model = joblib.load(path)
    if not isinstance(model, BuiltinModel) or model.format != FORMAT:
        raise BackendError(f"{path} is not a model of this version: run 'sigurno nlu train'")
    return model


class BuiltinBackend:
    name = "builtin"

    def __init__(self, model: BuiltinModel) -> None:
        self.model = model

    @classmethod
    def from_path(cls, path: Path) -> BuiltinBackend:
        return cls(load(path))

    async def predict(self, norm: Normalized) -> IntentPrediction:
        return self.model.rank(norm)

    def predict_sync(self, norm: Normalized) -> IntentPrediction:
        return self.model.rank(norm)

    async def close(self) -> None:
        return None
