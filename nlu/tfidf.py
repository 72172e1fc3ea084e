"""One text's TF-IDF row as a fitted TfidfVectorizer (sublinear tf, l2 norm) would give it, without its
input checks and sparse matrices: the serving scorers (nlu/backends/builtin.py, nlu/riskmodel.py) read
one message at a time, where those cost more than the arithmetic.

Character n-grams inside word boundaries (``char_wb``) are a sum over the message's words, so each
word's columns are looked up once and remembered: a long story's pieces, the screen, the quick and the
full intent model all read the same few hundred words, most of them seen before. Measured on the
long stories of the test sets: about a tenth of the time of analysing every text afresh."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

Row = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]  # (columns, values)

_WORDS_KEPT = 20_000  # per vectorizer; a few MB


class NgramRows:
    """``rows(text)``: the row a fitted ``vec`` gives ``text``, as (columns, values)."""

    def __init__(self, vec: TfidfVectorizer) -> None:
        if not (vec.sublinear_tf and vec.use_idf and vec.norm == "l2"):
            raise ValueError("only sublinear tf, idf and l2 norm are implemented")
        self.analyze = vec.build_analyzer()
        self.vocab = {str(k): int(v) for k, v in vec.vocabulary_.items()}
        self.idf = np.asarray(vec.idf_)
        # char_wb with the default preprocessing: the text's n-grams are its words' n-grams (each word
        # padded with one space either side), so a word analysed alone gives its share exactly.
        self.by_word = (
            vec.analyzer == "char_wb"
            and vec.preprocessor is None
            and vec.strip_accents is None
            and vec.input == "content"
        )
        self._words: dict[str, np.ndarray[Any, Any]] = {}

    def __call__(self, text: str) -> Row:
        """The columns and values of `text`'s row; empty arrays when no n-gram is in the vocabulary."""
        if self.by_word:
            found = [self._word(w) for w in text.split()]
            grams = np.concatenate(found) if found else np.empty(0, dtype=np.intp)
            cols, counts = np.unique(grams, return_counts=True)
        else:
            tally: dict[int, int] = {}
            for gram in self.analyze(text):
                j = self.vocab.get(gram)
                if j is not None:
                    tally[j] = tally.get(j, 0) + 1
            cols = np.fromiter(tally.keys(), dtype=np.intp, count=len(tally))
            counts = np.fromiter(tally.values(), dtype=np.float64, count=len(tally))
        vals = (1.0 + np.log(counts)) * self.idf[cols]
        if len(vals):
            vals /= np.sqrt(np.dot(vals, vals))
        return cols, vals

    def _word(self, word: str) -> np.ndarray[Any, Any]:
        cols = self._words.get(word)
        if cols is None:
            vocab = self.vocab
            found = [j for g in self.analyze(word) if (j := vocab.get(g)) is not None]
            cols = np.asarray(found, dtype=np.intp)
            if len(self._words) >= _WORDS_KEPT:
                self._words.clear()
            self._words[word] = cols
        return cols
