"""Builds the running services (store, NLU, content, coordination, dispatcher) from settings, and closes them."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot import studio
from bot.coordination import Coordination, open_coordination
from bot.dispatcher import Dispatcher
from bot.live import CONTENT, Current, Follower
from bot.review.service import attach_review
from bot.services import build_nlu
from bot.settings import Settings, SettingsError
from bot.storage.content_repo import ContentRepo
from bot.storage.crypto import load_or_create_local_secrets
from bot.storage.published import PublishedRepo
from bot.storage.store import StorageFailure, Store
from content import Content, load_content
from nlu.pipeline import Nlu


@dataclass
class Services:
    settings: Settings
    store: Store
    nlu: Current[Nlu]  # what a publish swaps: read with .get() once per use
    content: Current[Content]
    dispatcher: Dispatcher
    coordination: Coordination
    published: PublishedRepo
    follower: Follower  # follows publishes; studio and model publishing register their loaders on it


def secrets_for(settings: Settings) -> tuple[bytes, bytes]:
    """Env secrets when set; on the embedded SQLite default a local secrets file; else a clear error."""
    user_key_secret = settings.secrets.user_key_secret.get_secret_value()
    data_key = settings.secrets.data_key.get_secret_value()
    if user_key_secret and data_key:
        try:
            base64.urlsafe_b64decode(data_key.encode())
        except ValueError as e:
            raise SettingsError("SIGURNO_DATA_KEY must be a Fernet key (urlsafe base64, 32 bytes)") from e
        return user_key_secret.encode(), data_key.encode()
    url = settings.storage.database_url
    if url.startswith("sqlite"):
        db_file = Path(url.split("///", 1)[-1]) if "///" in url else Path("var/sigurno.db")
        return load_or_create_local_secrets(db_file.parent / "secrets.json")
    raise SettingsError("SIGURNO_USER_KEY_SECRET and SIGURNO_DATA_KEY must be set when the database is not SQLite")


def _lean_sklearn() -> None:
    """Skip scikit-learn's per-call input checks in this (the serving) thread: the classifier only ever
    sees its own vectorizer's output, and the checks are a fifth of a message's CPU time."""
    try:
        import sklearn
    except ImportError:  # another NLU backend
        return
    sklearn.set_config(assume_finite=True, skip_parameter_validation=True)


async def seed_content(repo: ContentRepo, directory: Path) -> None:
    """At the first start on an empty database, import the content folder as version 0 (what every process
    loaded from YAML anyway). Several processes starting at once: one import wins, the others see it."""
    if not await repo.is_empty():
        return
    try:
        await studio.import_folder(repo, directory, "import", first=True)
    except StorageFailure:
        if await repo.is_empty():
            raise


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    content = load_content(settings.content.dir)
    user_secret, data_key = secrets_for(settings)
    # Redis first: a configured coordination backend that cannot be reached stops start-up early.
    coordination = await open_coordination(settings.storage.redis_url, settings.limits, settings.storage.redis_prefix)
    try:
        nlu = build_nlu(settings.nlu)
        live_nlu = Current(nlu)
        _lean_sklearn()
        try:
            store = await Store.open(
                settings.storage.database_url, user_secret, data_key, schema=settings.storage.schema
            )
            try:
                live_content = Current(content)
                dispatcher = Dispatcher(store, live_nlu, live_content, settings, coordination=coordination)
                published = PublishedRepo(store)
                follower = Follower(published, settings.content.publish_poll_seconds)
                services = Services(
                    settings, store, live_nlu, live_content, dispatcher, coordination, published, follower
                )
                # Loaders of published things are registered here (follower.follow(name, current, load)),
                # then the versions published so far are loaded before the first message is answered.
                await seed_content(ContentRepo(store), settings.content.dir)
                follower.follow(CONTENT, live_content, studio.loader(ContentRepo(store)))
                attach_review(services)  # the review queue's capture; published NLU models
                await follower.refresh()
                follower.start()
                try:
                    yield services
                finally:
                    await follower.stop()
            finally:
                await store.close()
        finally:
            await nlu.close()
            if live_nlu.get() is not nlu:
                await live_nlu.get().close()
    finally:
        await coordination.close()
