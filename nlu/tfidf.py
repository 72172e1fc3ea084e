"""One text's TF-IDF row as a fitted TfidfVectorizer (sublinear tf, l2 norm) would give it, without its
input checks and sparse matrices: the serving scorers (nlu/backends/builtin.py, nlu/riskmodel.py) read
one message at a time, where those cost more than the arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Row = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]  # (columns, values)


def tfidf_row(analyze: Callable[[str], list[str]], vocab: dict[str, int], idf: np.ndarray[Any, Any], text: str) -> Row:
    """The columns and values of `text`'s row; empty arrays when no n-gram is in the vocabulary."""
    counts: dict[int, int] = {}
    for gram in analyze(text):
        j = vocab.get(gram)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    cols = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
    vals = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[cols]
    if len(vals):
        vals /= np.sqrt(np.dot(vals, vals))
    return cols, vals
