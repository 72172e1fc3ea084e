"""Shared fixtures: the NLU model is trained at most once per run from nlu/data (once for all the
pytest-xdist workers too), and the slowest test files are run first so that parallel runs end together."""

from __future__ import annotations

import fcntl
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


# Test files that take longest (measured on a 2-core machine), longest first. Under pytest-xdist
# (`make unit`: whole files per worker, in this order) they start at once instead of being the tail of
# the run; a sequential run only changes its order. Tests in a file keep their order.
SLOW_FILES = (
    "tests/review/test_train_publish.py",  # a real training in the background, at low CPU priority
    "tests/nlu/test_cli.py",  # trains a model on first use
    "tests/pipeline/test_crash.py",  # kill -9 of `sigurno serve` processes
    "tests/nlu/test_quality.py",
    "tests/browser/test_console.py",
    "tests/channels/messenger/test_e2e.py",
    "tests/channels/telegram/test_e2e.py",
    "tests/channels/viber/test_e2e.py",
    "tests/nlu/test_fast_scorer.py",
    "tests/browser/test_studio.py",
    "tests/browser/test_review_page.py",
    "tests/browser/test_reports_page.py",
    "tests/pipeline/test_serve_e2e.py",
    "tests/pipeline/test_channel_settings.py",
    "tests/nlu/test_quick_path.py",
    "tests/reports/test_cli_and_metrics.py",
    "tests/handoff/test_telegram_serve.py",
    "tests/pipeline/test_studio_processes.py",
    "tests/web/test_hardening.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (rank.get(item.nodeid.split("::", 1)[0], len(rank)), order[id(item)]))


@pytest.fixture(scope="session")
def nlu_model_path(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model `make model` trained (var/nlu/model.joblib) when it is up to date with nlu/data, so a
    run trains at most once; otherwise one trained for this run (the developer's file is left as is).
    pytest-xdist workers share the run's temporary root: the first trains under a lock, the others wait
    for it and take its model."""
    built = ROOT / "var" / "nlu" / "model.joblib"
    data = ROOT / "nlu" / "data"
    if _current(built, data):
        return built
    shared = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # an xdist worker: its basetemp is <run>/popen-gwN
        shared = shared.parent
    path = shared / "nlu-model" / "model.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not _current(path, data):
            # The embeddings of the training texts are shared with `make model`: only new texts are embedded.
            train_from(data, path, embed_cache=ROOT / "var" / "nlu" / "embeddings.npz")
    return path


def _current(model: Path, data: Path) -> bool:
    """Whether `model` exists and was trained on `data` as it is now."""
    if not model.exists():
        return False
    try:
        return load(model).data_hash == data_hash(data)
    except BackendError:
        return False


@pytest.fixture(scope="session")
def nlu_model(nlu_model_path: Path) -> BuiltinModel:
    return load(nlu_model_path)


@pytest.fixture
def nlu(nlu_model: BuiltinModel) -> Nlu:
    return Nlu(BuiltinBackend(nlu_model), risk_model=nlu_model.risk, embedder=shared_embedder())
