"""`sigurno parse` and `sigurno nlu eval` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

KEYS = {"text", "intent", "confidence", "country", "risk", "signals", "language", "ask_safety"}


def run(
    args: list[str], model: Path, stdin: bytes | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, SIGURNO_NLU_MODEL=str(model))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, cwd=ROOT, env=env, timeout=timeout
    )


def test_parse_one_message(nlu_model_path: Path) -> None:
    p = run(["parse", "v germaniq sam i me biqt"], nlu_model_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) == KEYS
    assert out["intent"] == "emergency" and out["risk"] == "urgent" and out["country"] == "DE"
    assert "violence" in out["signals"]
    assert out["language"] == "bg-latn"


def test_jsonl_keeps_order_and_survives_bad_lines(nlu_model_path: Path) -> None:
    lines = [
        json.dumps({"text": "kolko e minimalnata zaplata v holandiq"}),
        "this is not json",
        json.dumps({"text": ""}),
        json.dumps({"no_text": 1}),
        json.dumps({"text": "x" * 100_000}),
        json.dumps({"text": "they took our passports"}),
    ]
    stdin = ("\n".join(lines) + "\n").encode() + b"\xff\xfe\x00junk\n"
    p = run(["parse", "--jsonl"], nlu_model_path, stdin)
    assert p.returncode == 0, p.stderr
    outs = [json.loads(line) for line in p.stdout.decode().splitlines()]
    assert len(outs) == 7
    assert outs[0]["intent"] == "wages_costs" and outs[0]["country"] == "NL"
    assert outs[1] == {"line": 2, "error": "invalid JSON"}
    assert outs[2]["intent"] == "out_of_scope"
    assert "error" in outs[3]
    assert outs[4]["intent"] == "out_of_scope" and outs[4]["risk"] == "none"
    assert outs[5]["risk"] == "urgent"
    assert "error" in outs[6]
    assert b"could not be read" in p.stderr


def test_parse_needs_text_or_jsonl(nlu_model_path: Path) -> None:
    p = run(["parse"], nlu_model_path)
    assert p.returncode == 2
    assert b"give TEXT or --jsonl" in p.stderr


def test_eval_prints_every_figure_and_plots(nlu_model_path: Path, tmp_path: Path) -> None:
    data = tmp_path / "set.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {"text": "здравей", "intent": "greet", "country": None, "risk": "none", "lang": "bg"},
                {
                    "text": "vzeha mi pasporta",
                    "intent": "emergency",
                    "country": None,
                    "risk": "urgent",
                    "lang": "bg-latn",
                },
                {
                    "text": "minimum wage in the UK",
                    "intent": "wages_costs",
                    "country": "GB",
                    "risk": "none",
                    "lang": "en",
                },
            ]
        ),
        encoding="utf-8",
    )
    png = tmp_path / "cm.png"
    p = run(["nlu", "eval", str(data), "--plot", str(png)], nlu_model_path)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    for figure in (
        "intent accuracy",
        "macro-F1",
        "accuracy by lang",
        "country accuracy",
        "urgent recall",
        "false-urgent rate",
        "p50",
        "p99",
        "emergency",
    ):
        assert figure in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_eval_rejects_a_broken_file(nlu_model_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi"}\n', encoding="utf-8")
    p = run(["nlu", "eval", str(bad)], nlu_model_path)
    assert p.returncode == 1
    assert b"bad.jsonl:1" in p.stderr


def _slice_of_our_data(root: Path, per_intent: int = 80, per_level: int = 20) -> Path:
    """nlu/data and nlu/risk_data cut to a few examples each: the same training, in seconds."""
    from nlu.trainingdata import load_examples, load_risk_examples

    data, risk = root / "nlu" / "data", root / "nlu" / "risk_data"
    data.mkdir(parents=True)
    risk.mkdir()
    by_intent: dict[str, list[str]] = {}
    for e in load_examples(ROOT / "nlu" / "data"):
        by_intent.setdefault(e.intent, []).append(e.text)
    blocks = [{"intent": i, "examples": "".join(f"- {t}\n" for t in ts[:per_intent])} for i, ts in by_intent.items()]
    (data / "nlu.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True), "utf-8")
    by_file: dict[str, dict[str, list[str]]] = {}
    for r in load_risk_examples(ROOT / "nlu" / "risk_data"):
        by_file.setdefault(r.source, {}).setdefault(r.level, []).append(r.text)
    for source, levels in list(by_file.items())[:3]:
        risk_blocks = [
            {"level": lv, "examples": "".join(f"- {t}\n" for t in ts[:per_level])} for lv, ts in levels.items()
        ]
        (risk / f"{source}.yml").write_text(
            yaml.safe_dump({"version": "1", "risk": risk_blocks}, allow_unicode=True), "utf-8"
        )
    return data


def test_missing_model_is_trained_on_first_use(tmp_path: Path) -> None:
    model = tmp_path / "fresh.joblib"
    cfg = tmp_path / "config.yml"
    cfg.write_text(f"nlu:\n  data_dir: {_slice_of_our_data(tmp_path)}\n", encoding="utf-8")
    p = run(["--config", str(cfg), "parse", "hello"], model, timeout=600)
    assert p.returncode == 0, p.stderr
    assert model.exists()
    assert json.loads(p.stdout)["intent"] == "greet"
    # and it says so, on stderr (stdout is the JSON)
    assert b"trained" in p.stderr


@pytest.mark.parametrize("bad", ["nlu:\n  backend: spacy\n", "server: [1, 2]\n", "{{{"])
def test_bad_config_is_a_clear_error(bad: str, tmp_path: Path, nlu_model_path: Path) -> None:
    cfg = tmp_path / "config.yml"
    cfg.write_text(bad, encoding="utf-8")
    p = run(["--config", str(cfg), "parse", "hi"], nlu_model_path)
    assert p.returncode == 2
    assert p.stderr.startswith(b"sigurno: config:")
