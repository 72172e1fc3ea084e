"""Rasa NLU over HTTP: POST {url}/model/parse. Rasa runs in its own process (it cannot share ours)."""

from __future__ import annotations

from typing import Any

import aiohttp

from nlu.backends.base import BackendError
from nlu.normalize import Normalized
from nlu.types import IntentPrediction


class RasaHttpBackend:
    name = "rasa_http"

    def __init__(self, url: str, timeout: float = 3.0, session: aiohttp.ClientSession | None = None) -> None:
        self.url = url.rstrip("/") + "/model/parse"
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    def quick_predict(self, norm: Normalized, sure_only: bool = True) -> IntentPrediction | None:
        return None  # the server is asked every time

    async def predict(self, norm: Normalized) -> IntentPrediction:
        session = await self._client()
        try:
            async with session.post(self.url, json={"text": norm.lower}, timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise BackendError(f"Rasa answered HTTP {resp.status}")
                body: Any = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as e:
            raise BackendError(f"Rasa server unreachable or invalid answer ({e.__class__.__name__})") from e
        return parse_rasa(body)

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
            self._session = None


def parse_rasa(body: Any) -> IntentPrediction:
    """Rasa's parse result -> our prediction; malformed answers are errors, not guesses."""
    if not isinstance(body, dict) or not isinstance(body.get("intent"), dict):
        raise BackendError("Rasa answer has no intent")
    ranking_raw = body.get("intent_ranking") or [body["intent"]]
    ranking: list[tuple[str, float]] = []
    for item in ranking_raw:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            try:
                ranking.append((item["name"], float(item.get("confidence", 0.0))))
            except (TypeError, ValueError):
                continue
    if not ranking:
        raise BackendError("Rasa answer has no usable intent ranking")
    ranking.sort(key=lambda r: r[1], reverse=True)
    entities = tuple(
        (str(e["entity"]), str(e["value"]))
        for e in body.get("entities") or []
        if isinstance(e, dict) and "entity" in e and "value" in e
    )
    return IntentPrediction(tuple(ranking), entities)
