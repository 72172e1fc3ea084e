"""Country extraction: names in any script, spelling habit or declined form -> ISO 3166-1 alpha-2."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

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

# Words that fold onto a country's name but are something else: "данни" (data) / "дании",
# the given names Franz and German, "върна" (to return) that folds onto Varna.
_NOT_PLACES = frozenset(
    {"данни", "danni", "dani", "франц", "franz", "frantz", "герман", "върна", "vurna", "vyrna", "vrana"}
)

# Adjectives of a country ("испанска ферма", "a Dutch agency"), folded stems and English forms.
_ADJECTIVE_STEMS_RAW = {
    "испанск": "ES", "италианск": "IT", "итальянск": "IT", "холандск": "NL", "голландск": "NL",
    "германск": "DE", "немск": "DE", "немецк": "DE", "френск": "FR", "французск": "FR",
    "британск": "GB", "гръцк": "GR", "греческ": "GR", "австрийск": "AT", "белгийск": "BE",
    "бельгийск": "BE", "чешк": "CZ", "чешск": "CZ", "датск": "DK", "шведск": "SE", "норвежк": "NO",
    "норвежск": "NO", "ирландск": "IE", "кипърск": "CY", "кипрск": "CY", "португалск": "PT",
    "португальск": "PT", "швейцарск": "CH", "полск": "PL", "польск": "PL",
    # people: "германците", "немцы", "холандците"
    "германц": "DE", "немц": "DE", "холандц": "NL", "голландц": "NL", "испанц": "ES", "италианц": "IT",
    "итальянц": "IT", "французи": "FR", "французы": "FR", "англичан": "GB", "британц": "GB",
}  # fmt: skip
# Bulgarian adjectives are left out on purpose: "bulgarian health insurance", "болгарский язык"
# say nothing about where the person is or goes.
_ADJECTIVES_EN = {
    "spanish": "ES", "italian": "IT", "dutch": "NL", "german": "DE", "french": "FR", "british": "GB",
    "greek": "GR", "austrian": "AT", "belgian": "BE", "czech": "CZ", "danish": "DK", "swedish": "SE",
    "norwegian": "NO", "irish": "IE", "cypriot": "CY", "portuguese": "PT", "swiss": "CH",
    "polish": "PL",
}  # fmt: skip
# "полска работа" is field work, not Polish work: Bulgarian "полски" only counts in Russian ("польск").
_AMBIGUOUS_BG = frozenset({"полск"})


@lru_cache(maxsize=65536)  # words repeat across messages; a long story has hundreds
def _fold(word: str) -> str:
    return skeleton(translit_word(word) if _LAT.search(word) else word)


_ADJECTIVE_STEMS = {_fold(stem): code for stem, code in _ADJECTIVE_STEMS_RAW.items()}
# A language, not a country: "английски език", "курсы немецкого языка" (but a contract "na nemski"
# or "in Dutch" does tell where the job is).
_LANGUAGE_NEXT = frozenset(
    "език езика ezik ezika язык языка языку языке language lessons classes course courses курс курсове курсы".split()
)
# A country after "from" is where someone comes from, not where they go ("Я из Украины, живу в Варне").
_ORIGIN_PREV = frozenset("из от ot iz from".split())


class Mention(NamedTuple):
    code: str
    origin: bool  # "from X": where the person comes from
    adjective: bool  # only an adjective or people named it ("испанска ферма", "a Dutch agency")


@dataclass
class Gazetteer:
    exact_latin: dict[tuple[str, ...], str] = field(default_factory=dict)
    exact_fold: dict[tuple[str, ...], str] = field(default_factory=dict)
    stems: dict[str, str] = field(default_factory=dict)
    longest: int = 1
    starts: set[str] = field(default_factory=set)  # first words of names of two words or more
    stem_seen: dict[str, str | None] = field(default_factory=dict)  # token -> _stem_match's answer

    def add(self, name: str, code: str) -> None:
        words = tuple(re.findall(r"[^\W_]+", name.lower()))
        if not words:
            return
        self.longest = max(self.longest, len(words))
        if all(_LAT.search(w) for w in words):
            self.exact_latin.setdefault(words, code)
            if len(words) > 1:
                self.starts.add(words[0])
        folded = tuple(_fold(w) for w in words)
        if len(folded) > 1 and min(len(w) for w in folded) < 2:
            return  # "u.s." folds to "а с", which is Russian "я с": such names match only as written
        self.exact_fold.setdefault(folded, code)
        if len(folded) > 1:
            self.starts.add(folded[0])
        if len(folded) == 1 and len(folded[0]) >= _MIN_STEM:
            stem = folded[0][:-1] if folded[0][-1] in _VOWELS else folded[0]
            self.stems.setdefault(stem, code)

    def _stem_match(self, token: str) -> str | None:
        if token in self.stem_seen:
            return self.stem_seen[token]
        code = self._stem_lookup(token)
        if len(self.stem_seen) >= 65536:
            self.stem_seen.clear()
        self.stem_seen[token] = code
        return code

    def _stem_lookup(self, token: str) -> str | None:
        for cut in range(0, 5):
            if cut > len(token) - _MIN_STEM + 1:
                break
            stem = token[: len(token) - cut] if cut else token
            if stem in self.stems and token[len(stem) :] in _SUFFIXES:
                return self.stems[stem]
        return None

    def find_all(self, latin_words: list[str], folded: list[str]) -> list[tuple[int, str]]:
        """(position, code) of every name, each country at its first position."""
        found: list[tuple[int, str]] = []
        for seq, table in ((latin_words, self.exact_latin), (folded, self.exact_fold)):
            for n in range(self.longest, 0, -1):
                for i in range(len(seq) - n + 1):
                    if n == 1 and latin_words[i] in _NOT_PLACES:
                        continue
                    if n > 1 and seq[i] not in self.starts:
                        continue  # no name of several words starts here
                    code = table.get(tuple(seq[i : i + n]))
                    if code:
                        found.append((i, code))
        for i, tok in enumerate(folded):
            code = None if latin_words[i] in _NOT_PLACES else self._stem_match(tok)
            if code:
                found.append((i, code))
        found.sort()
        return found


@lru_cache(maxsize=65536)
def _adjective(word: str, tok: str, language: str) -> str | None:
    code = _ADJECTIVES_EN.get(word)
    if code is None:
        stem = next((s for s in _ADJECTIVE_STEMS if tok.startswith(s) and len(tok) - len(s) <= 4), None)
        if stem is None or (stem in _AMBIGUOUS_BG and language != "ru"):
            return None
        code = _ADJECTIVE_STEMS[stem]
    return code


def _is_language(words: list[str], i: int) -> bool:
    return i + 1 < len(words) and words[i + 1] in _LANGUAGE_NEXT


@lru_cache(maxsize=4)
def gazetteer(path: Path = COUNTRIES_FILE) -> Gazetteer:
    g = Gazetteer()
    for code, names in load_synonyms(path).items():
        for name in names:
            g.add(name, code)
    return g


_NAME_WORD = re.compile(r"[^\W_]+(?:'[a-z]+)?")


def extract_countries(norm: Normalized) -> list[Mention]:
    """Every country named (or named by an adjective) in the message, in order of appearance."""
    words = [w[:-2] if w.endswith("'s") else w for w in _NAME_WORD.findall(norm.lower)]
    folded = [_fold(w) for w in words]
    found = [(i, code, False) for i, code in gazetteer().find_all(words, folded)]
    named = {i for i, _, _ in found}
    for i in range(len(words)):
        if i not in named and (code := _adjective(words[i], folded[i], norm.language)):
            found.append((i, code, True))
    out: list[Mention] = []
    for i, code, adjective in sorted(found):
        if _is_language(words, i) or any(m.code == code for m in out):
            continue
        out.append(Mention(code, i > 0 and words[i - 1] in _ORIGIN_PREV, adjective))
    return out


def pick_country(found: list[Mention]) -> str | None:
    """The destination: the first country named that is neither home nor an origin ("from X"), else
    home, else the origin ("обаждам се от Германия" is where the person is)."""
    for m in found:
        if m.code != HOME and not m.origin:
            return m.code
    if any(m.code == HOME for m in found):
        return HOME
    return found[0].code if found else None
