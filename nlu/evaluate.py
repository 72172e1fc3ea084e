"""Evaluation of the whole NLU pipeline on a labelled JSON-lines file (schema of shared/nlu/dev.jsonl)."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nlu.pipeline import Nlu
from nlu.types import INTENTS


@dataclass(frozen=True)
class Row:
    text: str
    intent: str
    country: str | None
    risk: str
    lang: str
    kind: str = ""
    third_party: bool | None = None


@dataclass
class Report:
    n: int = 0
    intent_accuracy: float = 0.0
    macro_f1: float = 0.0
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    accuracy_by_lang: dict[str, float] = field(default_factory=dict)
    country_accuracy: float = 0.0
    risk_accuracy: float = 0.0
    urgent_recall: float = 1.0  # strictly urgent
    urgent_caught: float = 1.0  # urgent, or the safety question asked
    false_urgent_rate: float = 0.0  # of every message not labelled urgent
    harmless_false_urgent: float = 0.0  # of messages labelled risk none
    harmless_ask_safety: float = 0.0
    elevated_caught: float = 1.0  # elevated messages judged elevated or urgent (or asked)
    third_party_recall: float | None = None
    caught_by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_ms_p50: float = 0.0
    latency_ms_p99: float = 0.0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        d = dict(self.__dict__)
        d.pop("confusion")
        return d

    def render(self) -> str:
        lines = [
            f"messages            {self.n}",
            f"intent accuracy     {self.intent_accuracy:.1%}",
            f"intent macro-F1     {self.macro_f1:.3f}",
            "accuracy by lang    " + "  ".join(f"{k} {v:.1%}" for k, v in sorted(self.accuracy_by_lang.items())),
            f"country accuracy    {self.country_accuracy:.1%}",
            f"risk accuracy       {self.risk_accuracy:.1%}",
            f"urgent recall       {self.urgent_recall:.1%}   caught (urgent or asked) {self.urgent_caught:.1%}",
            f"false-urgent rate   {self.false_urgent_rate:.1%}   on harmless {self.harmless_false_urgent:.1%}"
            f"   safety question on harmless {self.harmless_ask_safety:.1%}",
            f"elevated caught     {self.elevated_caught:.1%}"
            + ("" if self.third_party_recall is None else f"   third-party found {self.third_party_recall:.1%}"),
            f"parse latency       p50 {self.latency_ms_p50:.2f} ms   p99 {self.latency_ms_p99:.2f} ms",
            "",
            f"{'intent':22} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>4}",
        ]
        for name, m in self.per_intent.items():
            lines.append(f"{name:22} {m['precision']:6.2f} {m['recall']:6.2f} {m['f1']:6.2f} {int(m['support']):4d}")
        if self.caught_by_kind:
            lines += ["", f"{'kind':22} {'n':>4} {'urgent':>7} {'caught':>7} {'asked':>7}"]
            for kind, k in sorted(self.caught_by_kind.items()):
                lines.append(f"{kind:22} {int(k['n']):4d} {k['urgent']:7.1%} {k['caught']:7.1%} {k['asked']:7.1%}")
        return "\n".join(lines)


class BadRow(ValueError):
    pass


def read_rows(path: Path) -> list[Row]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            rows.append(
                Row(
                    str(d["text"]),
                    str(d["intent"]),
                    d.get("country"),
                    str(d.get("risk", "none")),
                    str(d.get("lang", "unknown")),
                    str(d.get("kind") or ""),
                    d["third_party"] if isinstance(d.get("third_party"), bool) else None,
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise BadRow(f"{path}:{i}: not a labelled row ({e.__class__.__name__})") from e
    return rows


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[k]


async def evaluate(nlu: Nlu, rows: list[Row]) -> Report:
    rep = Report(n=len(rows))
    if not rows:
        return rep
    gold, pred, lat = [], [], []
    lang_tot: Counter[str] = Counter()
    lang_ok: Counter[str] = Counter()
    country_ok = risk_ok = urgent_tot = urgent_hit = urgent_asked = non_urgent = false_urgent = 0
    harmless = harmless_urgent = harmless_ask = elevated = elevated_hit = tp_tot = tp_hit = 0
    kinds: dict[str, Counter[str]] = {}
    for r in rows:
        t0 = time.perf_counter()
        res = await nlu.parse(r.text)
        lat.append((time.perf_counter() - t0) * 1000)
        gold.append(r.intent)
        pred.append(res.intent)
        lang_tot[r.lang] += 1
        lang_ok[r.lang] += res.intent == r.intent
        country_ok += res.country == r.country
        risk_ok += res.risk == r.risk
        is_urgent = res.risk == "urgent"
        if r.risk == "urgent":
            urgent_tot += 1
            urgent_hit += is_urgent
            urgent_asked += is_urgent or res.ask_safety
        else:
            non_urgent += 1
            false_urgent += is_urgent
        if r.risk == "none":
            harmless += 1
            harmless_urgent += is_urgent
            harmless_ask += res.ask_safety and not is_urgent
        if r.risk == "elevated":
            elevated += 1
            elevated_hit += res.risk != "none" or res.ask_safety
        if r.third_party and r.risk != "none":
            tp_tot += 1
            tp_hit += "third_party" in res.signals
        if r.kind:
            k = kinds.setdefault(r.kind, Counter())
            k["n"] += 1
            k["urgent"] += is_urgent
            # caught as the overall figures count it: an urgent message judged urgent or asked about;
            # an elevated one judged elevated or above, or asked; a harmless one is never "caught"
            if r.risk == "urgent":
                k["caught"] += is_urgent or res.ask_safety
            elif r.risk == "elevated":
                k["caught"] += res.risk != "none" or res.ask_safety
            k["asked"] += res.ask_safety
        if res.intent != r.intent or res.country != r.country or res.risk != r.risk:
            rep.errors.append(
                {
                    "text": r.text,
                    "gold": [r.intent, r.country, r.risk],
                    "got": [res.intent, res.country, res.risk, "ask" if res.ask_safety else ""],
                    "confidence": round(res.confidence, 3),
                }
            )
    labels = [i for i in INTENTS if i in set(gold) | set(pred)]
    f1s = []
    for name in labels:
        tp = sum(g == p == name for g, p in zip(gold, pred, strict=True))
        fp = sum(p == name and g != name for g, p in zip(gold, pred, strict=True))
        fn = sum(g == name and p != name for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        support = sum(g == name for g in gold)
        rep.per_intent[name] = {"precision": prec, "recall": rec, "f1": f1, "support": support}
        if support:
            f1s.append(f1)
    rep.confusion = {g: dict(Counter(p for gg, p in zip(gold, pred, strict=True) if gg == g)) for g in labels}
    rep.intent_accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(rows)
    rep.macro_f1 = statistics.fmean(f1s) if f1s else 0.0
    rep.accuracy_by_lang = {k: lang_ok[k] / v for k, v in lang_tot.items()}
    rep.country_accuracy = country_ok / len(rows)
    rep.risk_accuracy = risk_ok / len(rows)
    rep.urgent_recall = urgent_hit / urgent_tot if urgent_tot else 1.0
    rep.urgent_caught = urgent_asked / urgent_tot if urgent_tot else 1.0
    rep.false_urgent_rate = false_urgent / non_urgent if non_urgent else 0.0
    rep.harmless_false_urgent = harmless_urgent / harmless if harmless else 0.0
    rep.harmless_ask_safety = harmless_ask / harmless if harmless else 0.0
    rep.elevated_caught = elevated_hit / elevated if elevated else 1.0
    rep.third_party_recall = tp_hit / tp_tot if tp_tot else None
    rep.caught_by_kind = {
        kind: {"n": c["n"], **{m: c[m] / c["n"] for m in ("urgent", "caught", "asked")}} for kind, c in kinds.items()
    }
    rep.latency_ms_p50 = _percentile(lat, 0.50)
    rep.latency_ms_p99 = _percentile(lat, 0.99)
    return rep


def plot_confusion(rep: Report, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(rep.confusion)
    grid = [[rep.confusion[g].get(p, 0) for p in labels] for g in labels]
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > 5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("labelled")
    ax.set_title(f"Sigurno NLU: intent accuracy {rep.intent_accuracy:.1%} on {rep.n} messages")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
