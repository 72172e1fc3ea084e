"""Fixtures for content tests: a writable copy of the real content folder, and YAML editing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from content import default_content_dir

ROOT = Path(__file__).resolve().parents[2]
FACTS_MD = ROOT.parent / "shared" / "facts" / "FACTS.md"

Edit = Callable[[str, Callable[[Any], None]], None]


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A copy of content/data that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(default_content_dir(), target)
    return target


@pytest.fixture
def edit(data_copy: Path) -> Edit:
    """edit("countries/DE.yml", change) loads the file, lets `change` modify it in place, writes it back."""

    def apply(name: str, change: Callable[[Any], None]) -> None:
        path = data_copy / name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    return apply
