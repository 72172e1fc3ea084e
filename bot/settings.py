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
    body_timeout_seconds: float = 10.0  # a request body must be in within this (then 408)
    idle_timeout_seconds: float = 15.0  # a connection without a complete request this long is closed
    max_connections: int = 900  # open connections in all (below the usual 1024 open files), then refused
    max_connections_per_address: int = 100  # from one address (behind a proxy: raise it or set 0 for no cap)


@dataclass(frozen=True)
class StorageSettings:
    database_url: str = "sqlite+aiosqlite:///var/sigurno.db"
    schema: str | None = None  # PostgreSQL schema for all tables (default: the search path)
    redis_url: str | None = None
    redis_prefix: str = "sigurno:"  # every Redis key starts with this (several installations can share a Redis)


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


CHANNEL_NAMES = ("telegram", "viber", "messenger")


@dataclass(frozen=True)
class ChannelSettings:
    """The messaging platforms. A channel is on when its token is set; tokens and secrets only from the
    environment and never in repr. Each api_url is the root the platform's documented paths are appended to."""

    viber_token: str = field(default="", repr=False)  # SIGURNO_VIBER_TOKEN
    viber_api_url: str = "https://chatapi.viber.com"  # SIGURNO_VIBER_API_URL
    viber_bot_name: str = "Sigurno"  # the sender name Viber shows (28 characters at most)
    messenger_page_token: str = field(default="", repr=False)  # SIGURNO_MESSENGER_PAGE_TOKEN
    messenger_app_secret: str = field(default="", repr=False)  # SIGURNO_MESSENGER_APP_SECRET
    messenger_verify_token: str = field(default="", repr=False)  # SIGURNO_MESSENGER_VERIFY_TOKEN
    messenger_api_url: str = "https://graph.facebook.com/v25.0"  # SIGURNO_MESSENGER_API_URL
    telegram_token: str = field(default="", repr=False)  # SIGURNO_TELEGRAM_TOKEN
    telegram_secret: str = field(default="", repr=False)  # SIGURNO_TELEGRAM_SECRET
    telegram_api_url: str = "https://api.telegram.org"  # SIGURNO_TELEGRAM_API_URL
    send_timeout_seconds: float = 10.0  # one call to a platform API, connection included
    dedup_hours: float = 48.0  # platforms retry for up to a day or two: a redelivery within this is a duplicate

    @property
    def enabled(self) -> tuple[str, ...]:
        """The channels that are on, in a fixed order."""
        tokens = {"telegram": self.telegram_token, "viber": self.viber_token, "messenger": self.messenger_page_token}
        return tuple(name for name in CHANNEL_NAMES if tokens[name])


@dataclass(frozen=True)
class LimitSettings:
    """Abuse limits (per minute). A person over the limit is recorded but not answered."""

    person_per_minute: int = 20  # messages from one person on a messaging channel
    web_ip_per_minute: int = 120  # web chat requests from one address
    bad_webhook_ip_per_minute: int = 30  # webhook requests failing verification from one address (then 429)


@dataclass(frozen=True)
class ConsoleSettings:
    """The mediator console: sessions, login limits, timers, and the optional Telegram chat for mediators."""

    session_hours: float = 12.0  # a console login lasts this long
    secure_cookies: bool = False  # (SIGURNO_CONSOLE_SECURE_COOKIES) Secure cookies even when the request is not HTTPS
    login_free_failures: int = 5  # failed logins of one (name, address) before each next one must wait
    login_delay_seconds: float = 1.0  # the first wait; it doubles with every further failure
    login_max_delay_seconds: float = 900.0  # the longest wait
    login_attempts_per_ip: int = 30  # all login attempts from one address per login_window_minutes, then 429
    login_window_minutes: int = 15
    timer_seconds: float = 15.0  # how often re-alerts and idle releases are checked
    mediator_telegram_chat: str = ""  # SIGURNO_MEDIATOR_TELEGRAM_CHAT: a Telegram chat told of urgent cases


@dataclass(frozen=True)
class Settings:
    nlu: NluSettings = NluSettings()
    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    privacy: PrivacySettings = PrivacySettings()
    content: ContentSettings = ContentSettings()
    mediators: MediatorSettings = MediatorSettings()
    secrets: Secrets = Secrets()
    channels: ChannelSettings = ChannelSettings()
    limits: LimitSettings = LimitSettings()
    console: ConsoleSettings = ConsoleSettings()


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


_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token
_TOKEN_IN_URL = re.compile(r"^[A-Za-z0-9:_-]+$")  # the Telegram token is part of every API path


def _api_url(env: Mapping[str, str], var: str, raw: Mapping[str, Any], key: str, default: str) -> str:
    url = str(env.get(var) or raw.get(key) or default).rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise SettingsError(f"{var} (channels.{key}) must start with https:// or http://")
    return url


def _console(env: Mapping[str, str], raw: Mapping[str, Any]) -> ConsoleSettings:
    secure = env.get("SIGURNO_CONSOLE_SECURE_COOKIES", raw.get("secure_cookies", False))
    chat = str(env.get("SIGURNO_MEDIATOR_TELEGRAM_CHAT", "")).strip()
    if chat and not re.fullmatch(r"-?\d{1,20}|@[A-Za-z0-9_]{5,32}", chat):
        raise SettingsError("SIGURNO_MEDIATOR_TELEGRAM_CHAT must be a Telegram chat id (digits) or @channelname")
    return ConsoleSettings(
        session_hours=_num("console", "session_hours", raw.get("session_hours", 12), float, 0.1, 24 * 30),
        secure_cookies=str(secure).strip().lower() in ("1", "true", "yes", "on"),
        login_free_failures=_num("console", "login_free_failures", raw.get("login_free_failures", 5), int, 0, 1000),
        login_delay_seconds=_num(
            "console", "login_delay_seconds", raw.get("login_delay_seconds", 1), float, 0.01, 3600
        ),
        login_max_delay_seconds=_num(
            "console", "login_max_delay_seconds", raw.get("login_max_delay_seconds", 900), float, 0.01, 86400
        ),
        login_attempts_per_ip=_num(
            "console", "login_attempts_per_ip", raw.get("login_attempts_per_ip", 30), int, 1, 10_000
        ),
        login_window_minutes=_num("console", "login_window_minutes", raw.get("login_window_minutes", 15), int, 1, 1440),
        timer_seconds=_num("console", "timer_seconds", raw.get("timer_seconds", 15), float, 0.05, 3600),
        mediator_telegram_chat=chat,
    )


def _channels(env: Mapping[str, str], raw: Mapping[str, Any]) -> ChannelSettings:
    d = ChannelSettings()
    bot_name = str(raw.get("viber_bot_name", d.viber_bot_name))
    if not 1 <= len(bot_name) <= 28:
        raise SettingsError("config: channels.viber_bot_name must be 1 to 28 characters")
    ch = ChannelSettings(
        viber_token=env.get("SIGURNO_VIBER_TOKEN", "").strip(),
        viber_api_url=_api_url(env, "SIGURNO_VIBER_API_URL", raw, "viber_api_url", d.viber_api_url),
        viber_bot_name=bot_name,
        messenger_page_token=env.get("SIGURNO_MESSENGER_PAGE_TOKEN", "").strip(),
        messenger_app_secret=env.get("SIGURNO_MESSENGER_APP_SECRET", "").strip(),
        messenger_verify_token=env.get("SIGURNO_MESSENGER_VERIFY_TOKEN", "").strip(),
        messenger_api_url=_api_url(env, "SIGURNO_MESSENGER_API_URL", raw, "messenger_api_url", d.messenger_api_url),
        telegram_token=env.get("SIGURNO_TELEGRAM_TOKEN", "").strip(),
        telegram_secret=env.get("SIGURNO_TELEGRAM_SECRET", "").strip(),
        telegram_api_url=_api_url(env, "SIGURNO_TELEGRAM_API_URL", raw, "telegram_api_url", d.telegram_api_url),
        send_timeout_seconds=_num(
            "channels", "send_timeout_seconds", raw.get("send_timeout_seconds", 10), float, 0.1, 60
        ),
        dedup_hours=_num("channels", "dedup_hours", raw.get("dedup_hours", 48), float, 1, 24 * 30),
    )
    # A channel that is on must be able to prove where its webhooks come from: a missing secret is a
    # start-up error, never a webhook that anyone could post to.
    if ch.messenger_page_token:
        for var, value in (
            ("SIGURNO_MESSENGER_APP_SECRET", ch.messenger_app_secret),
            ("SIGURNO_MESSENGER_VERIFY_TOKEN", ch.messenger_verify_token),
        ):
            if not value:
                raise SettingsError(f"{var} must be set when SIGURNO_MESSENGER_PAGE_TOKEN is set")
    if ch.telegram_token:
        if not ch.telegram_secret:
            raise SettingsError("SIGURNO_TELEGRAM_SECRET must be set when SIGURNO_TELEGRAM_TOKEN is set")
        if not _TELEGRAM_SECRET.match(ch.telegram_secret):
            raise SettingsError("SIGURNO_TELEGRAM_SECRET must be 1-256 of A-Z a-z 0-9 _ - (Telegram's rule)")
        if not _TOKEN_IN_URL.match(ch.telegram_token):
            raise SettingsError("SIGURNO_TELEGRAM_TOKEN has characters a bot token never has")
    return ch


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
        body_timeout_seconds=_num("server", "body_timeout_seconds", s.get("body_timeout_seconds", 10), float, 0.1, 300),
        idle_timeout_seconds=_num("server", "idle_timeout_seconds", s.get("idle_timeout_seconds", 15), float, 1, 3600),
        max_connections=_num("server", "max_connections", s.get("max_connections", 900), int, 10, 1_000_000),
        max_connections_per_address=_num(
            "server", "max_connections_per_address", s.get("max_connections_per_address", 100), int, 0, 1_000_000
        ),
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
    redis_prefix = str(env.get("SIGURNO_REDIS_PREFIX", st.get("redis_prefix", StorageSettings.redis_prefix)))
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", redis_prefix):
        raise SettingsError("config: storage.redis_prefix must be 1-64 of A-Z a-z 0-9 _ . : -")
    storage = StorageSettings(database_url=db, schema=schema, redis_url=redis_url, redis_prefix=redis_prefix)
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
    lim = _section(raw, "limits")
    limits = LimitSettings(
        person_per_minute=_num("limits", "person_per_minute", lim.get("person_per_minute", 20), int, 1, 10_000),
        web_ip_per_minute=_num("limits", "web_ip_per_minute", lim.get("web_ip_per_minute", 120), int, 1, 1_000_000),
        bad_webhook_ip_per_minute=_num(
            "limits", "bad_webhook_ip_per_minute", lim.get("bad_webhook_ip_per_minute", 30), int, 1, 1_000_000
        ),
    )
    return Settings(
        nlu=nlu,
        server=server,
        storage=storage,
        privacy=privacy,
        content=content,
        mediators=mediators,
        secrets=secrets,
        channels=_channels(env, _section(raw, "channels")),
        limits=limits,
        console=_console(env, _section(raw, "console")),
    )
