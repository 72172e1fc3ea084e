"""`sigurno chat`: the same conversation in a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_terminal_chat_runs_a_conversation(tmp_path: Path, nlu_model_path: Path) -> None:
    env = dict(
        os.environ,
        SIGURNO_NLU_MODEL=str(nlu_model_path),
        SIGURNO_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/chat.db",
    )
    p = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input=b"2\n3\nthey took my passport\n",  # English, then menu item 3, then urgent
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr.decode()
    assert "[1. Work legally abroad]" in out or "1. Work legally abroad" in out
    # One numbered group per turn: the greeting's "More" is not numbered, the languages are.
    assert "[Още]" in out and "[1. Български]" in out and "[2. English]" in out
    assert "Question 1 of 8" in out
    assert "112" in out and "0800 20 100" in out
