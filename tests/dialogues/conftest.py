"""A conversation harness: the real NLU, engine and content, no channel and no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from content import Content, default_content_dir, load_content
from dialogues.engine import Engine
from dialogues.types import Context, Effect, Event, Reply
from nlu.pipeline import Nlu

ON_SHIFT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday morning


def flat(text: str) -> str:
    """Text with every run of spaces and line breaks as one space (pages are cut between sentences)."""
    return " ".join(text.split())


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(default_content_dir())


@dataclass
class Convo:
    engine: Engine
    nlu: Nlu
    ctx: Context = field(default_factory=lambda: Context(now=ON_SHIFT))
    state: dict[str, Any] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    last: tuple[Reply, ...] = ()

    async def say(self, text: str) -> tuple[Reply, ...]:
        res = self.engine.step(self.state, await self.nlu.parse(text), Event("text", text=text), self.ctx)
        return self._keep(res.state, res.replies, res.effects)

    async def tap(self, payload: str) -> tuple[Reply, ...]:
        res = self.engine.step(self.state, None, Event("payload", payload=payload), self.ctx)
        return self._keep(res.state, res.replies, res.effects)

    async def send_media(self, media: str) -> tuple[Reply, ...]:
        res = self.engine.step(self.state, None, Event("nontext", media=media), self.ctx)
        return self._keep(res.state, res.replies, res.effects)

    def _keep(
        self, state: dict[str, Any], replies: tuple[Reply, ...], effects: tuple[Effect, ...]
    ) -> tuple[Reply, ...]:
        self.state, self.last = state, replies
        self.effects.extend(effects)
        return replies

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    @property
    def payloads(self) -> list[str]:
        return [b.payload for r in self.last for b in r.buttons]

    async def read_more(self) -> str:
        """The whole answer: the first screen, then every "More" page (issue 9: the rest is one tap away)."""
        parts = [self.text]
        while more := [p for p in self.payloads if p.startswith("pg:")]:
            await self.tap(more[0])
            parts.append(self.text)
        return flat("\n".join(parts))

    async def start(self, lang: str) -> None:
        await self.tap("/start")
        await self.tap(f"lang:{lang}")


@pytest.fixture
def convo(nlu: Nlu, content: Content) -> Convo:
    return Convo(Engine(content), nlu)
