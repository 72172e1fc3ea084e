"""Canned replies for mediators (content/data/canned.yml): short texts in bg and en, picked in the console.

Like all content they are plain text with no phone numbers (`sigurno content check` scans this file too);
a mediator who needs a number takes it from the hotline list the person already got.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from content.loader import parse_yaml

FILE = "canned.yml"
LANGS = ("bg", "en")


class CannedError(ValueError):
    """canned.yml is malformed (the message names the entry)."""


@dataclass(frozen=True)
class CannedReply:
    key: str
    lang: str
    title: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "lang": self.lang, "title": self.title, "text": self.text}


def load_canned(content_dir: Path) -> tuple[CannedReply, ...]:
    """Every reply in every language it has (bg and en required); () when the file is absent."""
    path = content_dir / FILE
    if not path.is_file():
        return ()
    data = parse_yaml(path.read_text(encoding="utf-8"))
    entries = data.get("replies") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CannedError(f"{FILE}: 'replies' must be a list")
    out: list[CannedReply] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not key or key in seen:
            raise CannedError(f"{FILE}: replies[{i}]: needs a unique 'key'")
        seen.add(key)
        title, text = entry.get("title"), entry.get("text")
        if not isinstance(title, dict) or not isinstance(text, dict):
            raise CannedError(f"{FILE}: {key}: 'title' and 'text' must be mappings of languages")
        for lang in LANGS:
            if not isinstance(title.get(lang), str) or not isinstance(text.get(lang), str):
                raise CannedError(f"{FILE}: {key}: missing {lang}")
        for lang, body in text.items():
            if isinstance(body, str) and isinstance(title.get(lang), str):
                out.append(CannedReply(key, str(lang), str(title[lang]).strip(), body.strip()))
    return tuple(out)
