"""Reads Rasa-format NLU YAML (intents with annotated examples, synonyms) into plain examples."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

# [text]{"entity": "country", "value": "DE"}  or  [text](country)
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


def strip_annotations(line: str) -> str:
    return _ANNOTATION.sub(r"\1", line)


def _items(block: str) -> list[str]:
    out = []
    for raw in block.splitlines():
        raw = raw.strip()
        if raw.startswith("- "):
            out.append(raw[2:].strip())
    return out


def _documents(path: Path) -> list[tuple[Path, dict[str, object]]]:
    """Each .yml file under ``path`` (or ``path`` itself) with its parsed mapping."""
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    docs = []
    for f in files:
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{f}: expected a mapping with an 'nlu' list")
        docs.append((f, data))
    return docs


def load_examples(path: Path) -> list[Example]:
    """Every intent example under ``path`` (a file or a folder of .yml files), annotations removed."""
    examples = []
    for _, doc in _documents(path):
        for block in doc.get("nlu") or []:  # type: ignore[attr-defined]
            if isinstance(block, dict) and "intent" in block:
                for item in _items(str(block.get("examples", ""))):
                    examples.append(Example(strip_annotations(item), str(block["intent"])))
    return examples


def load_synonyms(path: Path) -> dict[str, list[str]]:
    """Synonym value -> the texts that mean it."""
    out: dict[str, list[str]] = {}
    for _, doc in _documents(path):
        for block in doc.get("nlu") or []:  # type: ignore[attr-defined]
            if isinstance(block, dict) and "synonym" in block:
                out.setdefault(str(block["synonym"]), []).extend(_items(str(block.get("examples", ""))))
    return out


@dataclass(frozen=True)
class RiskLabelled:
    text: str
    level: str
    third_party: bool
    source: str  # the file's name: each file is one writer's work


RISK_LEVELS = ("none", "elevated", "urgent")


def load_risk_examples(path: Path) -> list[RiskLabelled]:
    """Risk-labelled examples: ``risk:`` blocks with ``level``, optional ``third_party`` and ``examples``."""
    out: list[RiskLabelled] = []
    for f, doc in _documents(path):
        for block in doc.get("risk") or []:  # type: ignore[attr-defined]
            if not isinstance(block, dict):
                continue
            level = str(block.get("level", ""))
            if level not in RISK_LEVELS:
                raise ValueError(f"risk block with level {level!r}: expected one of {RISK_LEVELS}")
            third = bool(block.get("third_party", False))
            out.extend(RiskLabelled(t, level, third, f.stem) for t in _items(str(block.get("examples", ""))))
    return out
