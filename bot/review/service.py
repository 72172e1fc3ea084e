"""Wires the review side into the running services: the dispatcher's capture hook and the loader that
brings a published NLU model (bot/live.py, name "nlu_model") from the database into this process.

A published model is loaded from its row in nlu_models (the bytes the trainer stored), in a worker
thread, and swapped in whole by the Follower; the model it replaces is closed. A published model trained
on other nlu/data than this release's is not loaded (the release's own model file stays in use and the
Follower logs it): export the labelled examples into nlu/data and train again.
A model is a joblib (pickle) file: the database is trusted as much as the model file on disk.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

import joblib

from bot.live import NLU_MODEL
from bot.review.capture import note
from bot.settings import NluSettings
from bot.storage.review_repo import ReviewRepo
from nlu.backends.base import BackendError
from nlu.backends.builtin import FORMAT, BuiltinBackend, BuiltinModel, data_hash
from nlu.embedding import shared_embedder
from nlu.pipeline import Nlu, Thresholds

if TYPE_CHECKING:
    from bot.wiring import Services


class StaleModel(BackendError):
    """The published model was trained on other training data than this release's."""


def nlu_from_bytes(data: bytes, s: NluSettings) -> Nlu:
    model = joblib.load(io.BytesIO(data))
    if not isinstance(model, BuiltinModel) or model.format != FORMAT or model.risk is None:
        raise BackendError("the published model is not a built-in model of this version")
    model._fast()  # the fast scorer is built on first use: build it here, off the event loop
    return Nlu(
        BuiltinBackend(model), Thresholds(s.fallback_threshold, s.emergency_threshold), model.risk, shared_embedder()
    )


def attach_review(svc: Services) -> None:
    """Queue what the bot did not understand; follow published NLU models (built-in backend only)."""
    repo = ReviewRepo(svc.store)
    svc.dispatcher.review = note
    s = svc.settings.nlu
    if s.backend != "builtin":
        return
    release = data_hash(s.data_dir) if s.data_dir.is_dir() else None
    first = svc.nlu.get()
    in_use = [first]

    async def load(version: int) -> Nlu:
        got = await repo.model_bytes(version)
        if got is None:
            raise LookupError(f"no stored model for nlu_model version {version}")
        data, base = got
        if release is not None and base != release:
            raise StaleModel("the published model was trained on other nlu/data than this release's")
        return await asyncio.to_thread(nlu_from_bytes, data, s)

    async def close_replaced(name: str, version: int) -> None:
        if name != NLU_MODEL:
            return
        old, in_use[0] = in_use[0], svc.nlu.get()
        if old is not first:  # the first one is closed by open_services at shutdown
            await old.close()

    svc.follower.follow(NLU_MODEL, svc.nlu, load)
    svc.follower.on_change(close_replaced)
