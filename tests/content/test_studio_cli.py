"""`sigurno content import / export / stale` on a SQLite database: import, export byte for byte, a changed
folder imported as a new published version (and exported with only that change), stale facts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from content.loader import default_content_dir

DATA = default_content_dir()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIGURNO_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/sigurno.db")
    monkeypatch.setenv("SIGURNO_CONTENT__DIR", str(DATA))
    return tmp_path


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.yml"))}


def test_import_then_export_gives_back_the_same_files(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "import"]) == 0
    assert main(["content", "import"]) == 0
    assert "nothing to import" in capsys.readouterr().out
    assert main(["content", "export", str(db / "out"), "--facts", str(db / "none.md")]) == 0
    assert files(db / "out") == files(DATA)


def test_a_changed_folder_is_imported_as_a_new_version(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "import"]) == 0
    changed = db / "changed"
    shutil.copytree(DATA, changed)
    answers = changed / "answers.yml"
    answers.write_text(
        answers.read_text(encoding="utf-8").replace("Като граждани на ЕС", "Като граждани на Европейския съюз", 1),
        encoding="utf-8",
    )
    assert main(["content", "import", "--dir", str(changed)]) == 0
    assert "version 1" in capsys.readouterr().out
    assert main(["content", "export", str(db / "out"), "--facts", str(db / "none.md")]) == 0
    assert files(db / "out") == files(changed)


def test_stale_lists_the_wage_that_changes_on_1_january(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "stale", "--days", "100000"]) == 0  # an empty database: the folder is read
    out = capsys.readouterr().out
    assert "countries/DE/sections/minimum_wage" in out and "2027-01-01" in out


def test_export_of_an_empty_database_says_what_to_do(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "export", str(db / "out")]) == 1
    assert "content import" in capsys.readouterr().err
