"""Durable storage: SQLite (embedded default) or PostgreSQL, schema managed by Alembic migrations.

store = await Store.open(settings.storage.database_url, user_key_secret, data_key)
person = await store.person("telegram", "123456789", language="bg")
...
await store.close()
"""

import bot.storage.console_models
import bot.storage.content_models
import bot.storage.published
import bot.storage.report_models
import bot.storage.review_models  # noqa: F401
from bot.storage.crypto import IdCipher, SecretsError, load_or_create_local_secrets, person_key
from bot.storage.migrations import upgrade
from bot.storage.store import (
    CaseEventRec,
    CaseRec,
    CaseStatus,
    DeliveryStatus,
    Direction,
    Kind,
    MessageRec,
    PersonRef,
    Priority,
    StaleState,
    Store,
    StoreError,
    UnknownCase,
    UnknownPerson,
)

__all__ = [
    "CaseEventRec",
    "CaseRec",
    "CaseStatus",
    "DeliveryStatus",
    "Direction",
    "IdCipher",
    "Kind",
    "MessageRec",
    "PersonRef",
    "Priority",
    "SecretsError",
    "StaleState",
    "Store",
    "StoreError",
    "UnknownCase",
    "UnknownPerson",
    "load_or_create_local_secrets",
    "person_key",
    "upgrade",
]
