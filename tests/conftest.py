"""Shared fixtures: the NLU model is trained once per test session from nlu/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.backends.base import BackendError
from nlu.backends.builtin import BuiltinBackend, BuiltinModel, data_hash, load, train_from
from nlu.embedding import shared_embedder
from nlu.pipeline import Nlu

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEV_SET = SHARED / "nlu" / "dev.jsonl"
OWN_TEST_SET = ROOT / "tests" / "data" / "nlu_test.jsonl"
# Written apart from the training data by separate writers briefed only with PRODUCT.md (issue 12):
RISK_TEST_SET = ROOT / "tests" / "data" / "risk_independent.jsonl"  # 330 risk-labelled, with "kind"
MIXED_TEST_SET = ROOT / "tests" / "data" / "mixed_independent.jsonl"  # 260 everyday questions


@pytest.fixture(scope="session")
def nlu_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model `make model` trained (var/nlu/model.joblib) when it is up to date with nlu/data, so a
    run trains at most once; otherwise one trained for this session (the developer's file is left as is)."""
    built = ROOT / "var" / "nlu" / "model.joblib"
    data = ROOT / "nlu" / "data"
    if built.exists():
        try:
            if load(built).data_hash == data_hash(data):
                return built
        except BackendError:
            pass
    path = tmp_path_factory.mktemp("nlu") / "model.joblib"
    # The embeddings of the training texts are shared with `make model`: only new texts are embedded.
    train_from(data, path, embed_cache=ROOT / "var" / "nlu" / "embeddings.npz")
    return path


@pytest.fixture(scope="session")
def nlu_model(nlu_model_path: Path) -> BuiltinModel:
    return load(nlu_model_path)


@pytest.fixture
def nlu(nlu_model: BuiltinModel) -> Nlu:
    return Nlu(BuiltinBackend(nlu_model), risk_model=nlu_model.risk, embedder=shared_embedder())
