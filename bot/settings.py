"""One typed settings object, built once from config.yml (structure) and the environment (secrets)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = Path("config.yml")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SettingsError(ValueError):
    """A bad or missing setting: the message names the key and what is wrong."""


@dataclass(frozen=True)
class NluSettings:
    backend: str = "builtin"
    model_path: Path = Path("var/nlu/model.joblib")
    data_dir: Path = Path("nlu/data")
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 3.0
    fallback_threshold: float = 0.25
    emergency_threshold: float = 0.85


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 262_144
    max_message_chars: int = 4000


@dataclass(frozen=True)
class StorageSettings:
    database_url: str = "sqlite+aiosqlite:///var/sigurno.db"
    schema: str | None = None  # PostgreSQL schema for all tables (default: the search path)
    redis_url: str | None = None


@dataclass(frozen=True)
class PrivacySettings:
    retention_days: int = 90


@dataclass(frozen=True)
class ContentSettings:
    dir: Path = Path("content/data")
    stale_after_days: int = 180


@dataclass(frozen=True)
class MediatorSettings:
    timezone: str = "Europe/Sofia"
    shift_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    shift_start: str = "09:00"
    shift_end: str = "18:00"
    urgent_realert_minutes: int = 10
    idle_release_minutes: int = 60


@dataclass(frozen=True)
class Secrets:
    """Only from the environment; never logged (repr hides the values)."""

    user_key_secret: str = field(default="", repr=False)  # SIGURNO_USER_KEY_SECRET: keyed hash of user ids
    data_key: str = field(default="", repr=False)  # SIGURNO_DATA_KEY: Fernet key that encrypts raw ids


@dataclass(frozen=True)
class Settings:
    nlu: NluSettings = NluSettings()
    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    privacy: PrivacySettings = PrivacySettings()
    content: ContentSettings = ContentSettings()
    mediators: MediatorSettings = MediatorSettings()
    secrets: Secrets = Secrets()


def _section(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise SettingsError(f"config: '{name}' must be a mapping")
    return dict(value)


def _num(sec: str, key: str, value: Any, kind: type, lo: float, hi: float) -> Any:
    try:
        v = kind(value)
    except (TypeError, ValueError) as e:
        raise SettingsError(f"config: {sec}.{key} must be a {kind.__name__}, got {value!r}") from e
    if not lo <= v <= hi:
        raise SettingsError(f"config: {sec}.{key} must be between {lo} and {hi}, got {v}")
    return v


def _hhmm(sec: str, key: str, value: Any) -> str:
    s = str(value)
    parts = s.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
        raise SettingsError(f"config: {sec}.{key} must be HH:MM, got {value!r}")
    return f"{int(parts[0]):02d}:{int(parts[1]):02d}"


def load_settings(config_path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read config.yml (or SIGURNO_CONFIG) and apply SIGURNO_* overrides; raise SettingsError if bad."""
    env = os.environ if env is None else env
    path = config_path or Path(env.get("SIGURNO_CONFIG", str(DEFAULT_CONFIG)))
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise SettingsError(f"config: {path} is not valid YAML: {e}") from e
        if loaded is not None and not isinstance(loaded, dict):
            raise SettingsError(f"config: {path} must be a mapping at the top")
        raw = loaded or {}
    elif config_path is not None or "SIGURNO_CONFIG" in env:
        raise SettingsError(f"config: {path} does not exist")

    n = _section(raw, "nlu")
    backend = env.get("SIGURNO_NLU_BACKEND", n.get("backend", "builtin"))
    if backend not in ("builtin", "rasa_http"):
        raise SettingsError(f"config: nlu.backend must be builtin or rasa_http, got {backend!r}")
    nlu = NluSettings(
        backend=backend,
        model_path=Path(env.get("SIGURNO_NLU_MODEL", n.get("model_path", NluSettings.model_path))),
        data_dir=Path(n.get("data_dir", NluSettings.data_dir)),
        rasa_url=str(env.get("SIGURNO_RASA_URL", n.get("rasa_url", NluSettings.rasa_url))).rstrip("/"),
        rasa_timeout_seconds=_num("nlu", "rasa_timeout_seconds", n.get("rasa_timeout_seconds", 3), float, 0.1, 60),
        fallback_threshold=_num("nlu", "fallback_threshold", n.get("fallback_threshold", 0.25), float, 0, 1),
        emergency_threshold=_num("nlu", "emergency_threshold", n.get("emergency_threshold", 0.85), float, 0, 1.01),
    )
    s = _section(raw, "server")
    server = ServerSettings(
        host=str(env.get("SIGURNO_HOST", s.get("host", ServerSettings.host))),
        port=_num("server", "port", env.get("SIGURNO_PORT", s.get("port", 8080)), int, 0, 65535),
        max_body_bytes=_num("server", "max_body_bytes", s.get("max_body_bytes", 262_144), int, 1024, 16 << 20),
        max_message_chars=_num("server", "max_message_chars", s.get("max_message_chars", 4000), int, 100, 100_000),
    )
    st = _section(raw, "storage")
    db = str(env.get("SIGURNO_DATABASE_URL", st.get("database_url", StorageSettings.database_url)))
    if not db.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError("config: storage.database_url must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    redis_url = env.get("SIGURNO_REDIS_URL", st.get("redis_url")) or None
    if redis_url is not None and not str(redis_url).startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("config: storage.redis_url must start with redis://, rediss:// or unix://")
    schema = env.get("SIGURNO_DATABASE_SCHEMA", st.get("schema")) or None
    if schema is not None and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", str(schema)):
        raise SettingsError("config: storage.schema must be a lowercase SQL identifier")
    storage = StorageSettings(database_url=db, schema=schema, redis_url=redis_url)
    p = _section(raw, "privacy")
    privacy = PrivacySettings(
        retention_days=_num("privacy", "retention_days", p.get("retention_days", 90), int, 1, 3650)
    )
    c = _section(raw, "content")
    content = ContentSettings(
        dir=Path(c.get("dir", ContentSettings.dir)),
        stale_after_days=_num("content", "stale_after_days", c.get("stale_after_days", 180), int, 1, 3650),
    )
    m = _section(raw, "mediators")
    days = tuple(str(d).lower()[:3] for d in m.get("shift_days", MediatorSettings.shift_days))
    if not days or any(d not in DAYS for d in days):
        raise SettingsError(f"config: mediators.shift_days must list days from {', '.join(DAYS)}")
    mediators = MediatorSettings(
        timezone=str(m.get("timezone", MediatorSettings.timezone)),
        shift_days=days,
        shift_start=_hhmm("mediators", "shift_start", m.get("shift_start", "09:00")),
        shift_end=_hhmm("mediators", "shift_end", m.get("shift_end", "18:00")),
        urgent_realert_minutes=_num(
            "mediators", "urgent_realert_minutes", m.get("urgent_realert_minutes", 10), int, 1, 1440
        ),
        idle_release_minutes=_num(
            "mediators", "idle_release_minutes", m.get("idle_release_minutes", 60), int, 1, 10080
        ),
    )
    secrets = Secrets(
        user_key_secret=env.get("SIGURNO_USER_KEY_SECRET", ""),
        data_key=env.get("SIGURNO_DATA_KEY", ""),
    )
    return Settings(
        nlu=nlu, server=server, storage=storage, privacy=privacy, content=content, mediators=mediators, secrets=secrets
    )
