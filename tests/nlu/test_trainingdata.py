"""The training data covers the NLU contract and never contains evaluation messages."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from nlu.normalize import normalize
from nlu.trainingdata import load_examples, load_risk_examples, load_synonyms
from nlu.types import INTENTS
from tests.conftest import DEV_SET, MIXED_TEST_SET, OWN_TEST_SET, RISK_TEST_SET, ROOT

DATA = ROOT / "nlu" / "data"
RISK_DATA = ROOT / "nlu" / "risk_data"


def _key(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def test_every_intent_has_30_examples_in_every_script() -> None:
    by_intent: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in load_examples(DATA):
        by_intent[e.intent][normalize(e.text).language] += 1
    assert set(by_intent) == set(INTENTS)
    for intent, langs in by_intent.items():
        assert sum(langs.values()) >= 30, intent
        assert langs["bg"] >= 5 and langs["bg-latn"] >= 5 and langs["en"] >= 5, (intent, dict(langs))
    assert by_intent["migrants_in_bulgaria"]["ru"] >= 20


def _eval_texts(path: Path) -> set[str]:
    return {_key(json.loads(line)["text"]) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def test_no_dev_message_is_in_the_training_data() -> None:
    if not DEV_SET.exists():
        pytest.skip(f"{DEV_SET} not found")
    train = {_key(e.text) for e in load_examples(DATA)}
    assert not (train & _eval_texts(DEV_SET))


def test_own_test_set_shares_no_sentence_with_training() -> None:
    # One- and two-word messages ("yes", "hello") are bound to coincide; sentences must not.
    train = {_key(e.text) for e in load_examples(DATA)}
    shared = {t for t in train & _eval_texts(OWN_TEST_SET) if len(t.split()) >= 3}
    assert not shared


def test_country_synonyms_are_iso_codes() -> None:
    syn = load_synonyms(DATA / "countries.yml")
    assert {"DE", "GB", "NL", "FR", "ES", "BE", "IT", "AT", "GR", "CY", "BG", "CH"} <= set(syn)
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in syn)


@pytest.mark.parametrize("test_set", [RISK_TEST_SET, MIXED_TEST_SET], ids=["risk", "mixed"])
def test_independent_test_sets_share_no_sentence_with_any_training_data(test_set: Path) -> None:
    # Written by writers who never saw the training data; nothing of them may flow back into it.
    train = {_key(e.text) for e in load_examples(DATA)} | {_key(r.text) for r in load_risk_examples(RISK_DATA)}
    shared = {t for t in train & _eval_texts(test_set) if len(t.split()) >= 3}
    assert not shared


def test_risk_data_covers_every_level_language_and_third_parties() -> None:
    rows = load_risk_examples(RISK_DATA)
    by_level: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        by_level[r.level][normalize(r.text).language] += 1
    for level in ("none", "elevated", "urgent"):
        langs = by_level[level]
        assert min(langs["bg"], langs["bg-latn"], langs["en"], langs["ru"]) >= 20, (level, dict(langs))
    assert sum(r.third_party for r in rows if r.level == "urgent") >= 60
