"""The storage errors, and the decorator that keeps driver messages (which can quote a person's text) out
of every exception a repository raises."""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

T = TypeVar("T")
C = TypeVar("C")


class StoreError(Exception):
    """Base of the storage errors."""


class StorageFailure(StoreError):
    """A database or driver error, named by the operation and the error's type only (e.g.
    "ConversationRepo.record_turn: DataError"). The driver's own message can quote a statement's parameters (a
    person's text: `invalid input for query argument $5: '...'`), so it is neither kept nor chained."""


class StaleState(StoreError):
    """The stored conversation state is not the version the caller loaded (someone saved in between)."""


class UnknownPerson(StoreError, LookupError):
    """No person with that key (never created, or erased)."""


class UnknownCase(StoreError, LookupError):
    """No case with that id."""


class InboxMoved(StoreError):
    """record_turn: the inbox row was no longer 'received' (handled elsewhere); the turn was not written."""


def _is_driver_error(e: BaseException) -> bool:
    return isinstance(e, SQLAlchemyError | sqlite3.Error) or type(e).__module__.startswith("asyncpg")


def _driver_error_name(e: BaseException) -> str:
    orig = getattr(e, "orig", None)
    return type(orig if isinstance(orig, BaseException) else e).__name__


def redact_errors(cls: type[C]) -> type[C]:
    """Class decorator: every public coroutine method turns driver errors into StorageFailure."""
    for name, fn in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(fn):
            continue
        setattr(cls, name, _redacting(fn, f"{cls.__name__}.{name}"))
    return cls


def _redacting(fn: Callable[..., Awaitable[T]], what: str) -> Callable[..., Awaitable[T]]:
    @functools.wraps(fn)
    async def method(*args: Any, **kwargs: Any) -> T:
        try:
            return await fn(*args, **kwargs)
        except Exception as e:
            if not _is_driver_error(e):
                raise
            failure = StorageFailure(f"{what}: {_driver_error_name(e)}")
        raise failure  # outside the except block: no chained driver message in any traceback

    return method


def reason(e: BaseException) -> str:
    """How a caught error is named in a log line: a StorageFailure by its (safe) message, else its type."""
    return str(e) if isinstance(e, StorageFailure) else type(e).__name__
