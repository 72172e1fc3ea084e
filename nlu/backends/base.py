"""The backend seam: text in, ranked intents out. Thresholds and risk live outside the backends."""

from __future__ import annotations

from typing import Protocol

from nlu.normalize import Normalized
from nlu.types import IntentPrediction


class BackendError(RuntimeError):
    """A backend could not answer (model missing, server down): callers show a clear error."""


class NluBackend(Protocol):
    name: str

    async def predict(self, norm: Normalized) -> IntentPrediction: ...

    def quick_predict(self, norm: Normalized, sure_only: bool = True) -> IntentPrediction | None:
        """A cheap answer the backend is sure of without its expensive reading, else None;
        ``sure_only=False``: its cheap answer however unsure, if it has one."""
        ...

    async def close(self) -> None: ...
