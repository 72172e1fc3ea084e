"""Country extraction: names in any script, spelling habit or declined form -> ISO 3166-1 alpha-2."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nlu.normalize import Normalized, skeleton, translit_word
from nlu.trainingdata import load_synonyms

COUNTRIES_FILE = Path(__file__).parent / "data" / "countries.yml"

# Endings a name takes in Bulgarian (definite) and Russian (cases), in skeleton spelling.
_SUFFIXES = frozenset(
    ["", "а", "и", "у", "е", "о", "ата", "та", "ат", "ии", "иа", "иата", "иу", "ие", "ои", "ом", "ето"]
)
_MIN_STEM = 6  # shorter names match only as written, so "дания" never swallows "данни"
_LAT = re.compile(r"[a-z]")
_VOWELS = set("аеиоу")
HOME = "BG"


def _fold(word: str) -> str:
    return skeleton(translit_word(word) if _LAT.search(word) else word)


@dataclass
class Gazetteer:
    exact_latin: dict[tuple[str, ...], str] = field(default_factory=dict)
    exact_fold: dict[tuple[str, ...], str] = field(default_factory=dict)
    stems: dict[str, str] = field(default_factory=dict)
    longest: int = 1

    def add(self, name: str, code: str) -> None:
        words = tuple(re.findall(r"[^\W_]+", name.lower()))
        if not words:
            return
        self.longest = max(self.longest, len(words))
        if all(_LAT.search(w) for w in words):
            self.exact_latin.setdefault(words, code)
        folded = tuple(_fold(w) for w in words)
        self.exact_fold.setdefault(folded, code)
        if len(folded) == 1 and len(folded[0]) >= _MIN_STEM:
            stem = folded[0][:-1] if folded[0][-1] in _VOWELS else folded[0]
            self.stems.setdefault(stem, code)

    def _stem_match(self, token: str) -> str | None:
        for cut in range(0, 5):
            if cut > len(token) - _MIN_STEM + 1:
                break
            stem = token[: len(token) - cut] if cut else token
            if stem in self.stems and token[len(stem) :] in _SUFFIXES:
                return self.stems[stem]
        return None

    def find_all(self, latin_words: list[str], folded: list[str]) -> list[str]:
        found: list[tuple[int, str]] = []
        for seq, table in ((latin_words, self.exact_latin), (folded, self.exact_fold)):
            for n in range(self.longest, 0, -1):
                for i in range(len(seq) - n + 1):
                    code = table.get(tuple(seq[i : i + n]))
                    if code:
                        found.append((i, code))
        for i, tok in enumerate(folded):
            code = self._stem_match(tok)
            if code:
                found.append((i, code))
        found.sort()
        out: list[str] = []
        for _, code in found:
            if code not in out:
                out.append(code)
        return out


@lru_cache(maxsize=4)
def gazetteer(path: Path = COUNTRIES_FILE) -> Gazetteer:
    g = Gazetteer()
    for code, names in load_synonyms(path).items():
        for name in names:
            g.add(name, code)
    return g


def extract_countries(norm: Normalized) -> list[str]:
    """All countries named in the message, in order of appearance."""
    words = [re.sub(r"'s$", "", w) for w in re.findall(r"[^\W_]+(?:'[a-z]+)?", norm.lower)]
    return gazetteer().find_all(words, [_fold(w) for w in words])


def pick_country(found: list[str]) -> str | None:
    """The destination: the first country named that is not home, else home."""
    for code in found:
        if code != HOME:
            return code
    return found[0] if found else None
