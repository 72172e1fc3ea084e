"""Write content back as YAML, byte-stable: what did not change comes out exactly as it went in.

Each file is written from the text it was imported from (its "seed"): a file whose items are unchanged
is the seed itself, byte for byte; a changed file is the seed edited in place with ruamel.yaml's
round-trip mode, so comments, key order, quoting and block styles stay, and only the changed values
differ (a changed text keeps the quoting style of the text it replaces). A file with no seed is
written in ruamel.yaml's plain block style.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from content.items import json_safe
from content.loader import parse_yaml

_STYLES = (DoubleQuotedScalarString, SingleQuotedScalarString, LiteralScalarString, FoldedScalarString)
_DATE_KEYS = frozenset({"checked"})


def _yaml(sequence_indent: int, offset: int) -> YAML:
    y = YAML()  # round-trip
    y.preserve_quotes = True
    y.width = 1_000_000  # never fold long lines
    y.indent(mapping=2, sequence=sequence_indent, offset=offset)
    return y


# How the repository's files indent lists: "key:\n  - item" and a top-level "- item".
_LAYOUTS = ((4, 2), (2, 0))


def file_text(seed: str | None, tree: Any) -> str:
    """The YAML text of one file holding `tree` (JSON-safe), written from `seed` when there is one."""
    if seed is not None and json_safe(parse_yaml(seed)) == tree:
        return seed
    if seed is None:
        return _dump(_yaml(*_LAYOUTS[0]), _plain(tree))
    layout = _layout_of(seed)
    y = _yaml(*layout)
    doc = y.load(seed)
    doc = _update(doc, json_safe(parse_yaml(seed)), tree, None)
    return _dump(y, doc)


def _layout_of(seed: str) -> tuple[int, int]:
    for layout in _LAYOUTS:
        y = _yaml(*layout)
        if _dump(y, y.load(seed)) == seed:
            return layout
    return _LAYOUTS[0]


def _dump(y: YAML, doc: Any) -> str:
    buf = io.StringIO()
    y.dump(doc, buf)
    return buf.getvalue()


def _update(node: Any, old: Any, new: Any, key: str | None) -> Any:
    """`node` (ruamel) whose plain value is `old`, changed to hold `new`; unchanged parts stay untouched."""
    if old == new:
        return node
    if isinstance(node, CommentedMap) and isinstance(new, Mapping) and isinstance(old, Mapping):
        for k in [k for k in node if str(k) not in new]:
            del node[k]
        for k, v in new.items():
            existing = next((nk for nk in node if str(nk) == k), None)
            if existing is None:
                node[k] = _plain(v, k)
            else:
                node[existing] = _update(node[existing], old.get(k), v, k)
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list) and isinstance(old, list):
        while len(node) > len(new):
            del node[-1]
        for i, v in enumerate(new):
            if i < len(node):
                node[i] = _update(node[i], old[i] if i < len(old) else None, v, None)
            else:
                node.append(_plain(v))
        return node
    if isinstance(new, str):
        if isinstance(node, dt.date) or (key in _DATE_KEYS and not isinstance(node, str)):
            try:
                return dt.date.fromisoformat(new)
            except ValueError:
                pass
        for style in _STYLES:
            if isinstance(node, style):
                if style is LiteralScalarString and "\n" not in new:
                    return DoubleQuotedScalarString(new)
                return style(new)
        if "\n" in new:
            return LiteralScalarString(new)
        return new if isinstance(node, str) else _plain(new, key)
    return _plain(new, key)


def _plain(value: Any, key: str | None = None) -> Any:
    """A new value in the repository's style: texts quoted (literal blocks when multi-line), checked a date."""
    if isinstance(value, Mapping):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _plain(v, str(k))
        return out
    if isinstance(value, list):
        return CommentedSeq([_plain(v) for v in value])
    if isinstance(value, str):
        if key in _DATE_KEYS:
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        if key in ("source", "url", "kind", "code", "currency", "per", "weight", "key", "id", "status"):
            return value
        return LiteralScalarString(value) if "\n" in value else DoubleQuotedScalarString(value)
    return value
