"""Wiring: builds the configured NLU, training the built-in model first when it is missing or stale."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.settings import NluSettings
from nlu.backends.base import BackendError, NluBackend
from nlu.backends.builtin import BuiltinBackend, data_hash, load, train_from
from nlu.backends.rasa_http import RasaHttpBackend
from nlu.embedding import shared_embedder
from nlu.pipeline import Nlu, Thresholds

log = logging.getLogger(__name__)


def ensure_builtin_model(s: NluSettings) -> BuiltinBackend:
    """Load the built-in model; (re)train it from nlu/data when absent or trained on other data."""
    if s.model_path.exists():
        model = load(s.model_path)
        if not s.data_dir.exists() or model.data_hash == data_hash(s.data_dir):
            return BuiltinBackend(model)
        log.warning("nlu model is older than the training data: retraining")
    else:
        log.warning("no nlu model at %s: training one", s.model_path)
    model, n, secs = train_from(s.data_dir, s.model_path)
    log.warning("nlu model trained on %d examples in %.1f s", n, secs)
    return BuiltinBackend(model)


BACKENDS: dict[str, Callable[[NluSettings], NluBackend]] = {
    "builtin": ensure_builtin_model,
    "rasa_http": lambda s: RasaHttpBackend(s.rasa_url, s.rasa_timeout_seconds),
}


def build_nlu(s: NluSettings) -> Nlu:
    """The configured intent backend with our risk judgement (rules + the learned risk model, which
    the built-in model file carries whatever the intent backend is)."""
    backend = BACKENDS[s.backend](s)
    risk = backend.model.risk if isinstance(backend, BuiltinBackend) else ensure_builtin_model(s).model.risk
    if risk is None:
        raise BackendError(f"the nlu model at {s.model_path} has no risk model: run 'sigurno nlu train'")
    return Nlu(backend, Thresholds(s.fallback_threshold, s.emergency_threshold), risk, shared_embedder())
