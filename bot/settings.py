"""One typed settings object, built once from config.yml (structure) and the environment (SIGURNO_*).

Built with pydantic-settings: every section is a frozen pydantic dataclass with its defaults and bounds
written once, here. `load_settings` reads, in order of precedence:

1. the documented variables (`ENV_NAMES`: SIGURNO_DATABASE_URL, SIGURNO_TELEGRAM_TOKEN, ...);
2. any setting as SIGURNO_<SECTION>__<KEY> (e.g. SIGURNO_SERVER__MAX_BODY_BYTES=65536);
3. config.yml (or the file SIGURNO_CONFIG names);
4. the defaults below.

Empty variables count as unset. An unknown key (in the file or as SIGURNO_<SECTION>__<KEY>) is an
error that names it; secrets (`SecretStr`: never in repr or logs) come only from the environment. Any bad
value stops start-up with a SettingsError naming the key (and its variable), never the value.
Sections stay dataclasses: `dataclasses.replace(settings.server, port=0)` validates the change too.
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

DEFAULT_CONFIG = Path("config.yml")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHANNEL_NAMES = ("telegram", "viber", "messenger")
STRICT = ConfigDict(extra="forbid")  # a key the section does not have is an error


class SettingsError(ValueError):
    """A bad or missing setting: the message names the key and what is wrong."""


def _between(lo: float, hi: float) -> Any:
    return Field(ge=lo, le=hi)


def _secret(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _url(value: Any) -> Any:
    if isinstance(value, str):
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return value.rstrip("/")
    return value


@dataclass(frozen=True, config=STRICT)
class NluSettings:
    backend: Literal["builtin", "rasa_http"] = "builtin"
    model_path: Path = Path("var/nlu/model.joblib")
    data_dir: Path = Path("nlu/data")
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: Annotated[float, _between(0.1, 60)] = 3.0
    fallback_threshold: Annotated[float, _between(0, 1)] = 0.25
    emergency_threshold: Annotated[float, _between(0, 1.01)] = 0.85

    _rasa_url = field_validator("rasa_url", mode="before")(_url)


@dataclass(frozen=True, config=STRICT)
class ServerSettings:
    host: str = "127.0.0.1"
    port: Annotated[int, _between(0, 65535)] = 8080
    max_body_bytes: Annotated[int, _between(1024, 16 << 20)] = 262_144
    max_message_chars: Annotated[int, _between(100, 100_000)] = 4000
    body_timeout_seconds: Annotated[float, _between(0.1, 300)] = 10.0  # a request body must be in within this
    idle_timeout_seconds: Annotated[float, _between(1, 3600)] = 15.0  # no complete request this long: closed
    max_connections: Annotated[int, _between(10, 1_000_000)] = 900  # in all (below the usual 1024 open files)
    max_connections_per_address: Annotated[int, _between(0, 1_000_000)] = 100  # 0: no cap (behind a proxy)


@dataclass(frozen=True, config=STRICT)
class StorageSettings:
    database_url: str = "sqlite+aiosqlite:///var/sigurno.db"
    schema: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] | None = None  # PostgreSQL schema
    redis_url: str | None = None
    redis_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = "sigurno:"  # every Redis key's start

    @field_validator("database_url")
    @classmethod
    def _database(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v or None


@dataclass(frozen=True, config=STRICT)
class PrivacySettings:
    retention_days: Annotated[int, _between(1, 3650)] = 90


@dataclass(frozen=True, config=STRICT)
class ContentSettings:
    dir: Path = Path("content/data")
    stale_after_days: Annotated[int, _between(1, 3650)] = 180
    publish_poll_seconds: Annotated[float, _between(0.05, 60)] = 0.5  # how often a process looks for a publish


@dataclass(frozen=True, config=STRICT)
class MediatorSettings:
    timezone: str = "Europe/Sofia"
    shift_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    shift_start: str = "09:00"
    shift_end: str = "18:00"
    urgent_realert_minutes: Annotated[int, _between(1, 1440)] = 10
    idle_release_minutes: Annotated[int, _between(1, 10080)] = 60

    @field_validator("shift_days")
    @classmethod
    def _days(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        days = tuple(d.lower()[:3] for d in v)
        if not days or any(d not in DAYS for d in days):
            raise ValueError(f"must list days from {', '.join(DAYS)}")
        return days

    @field_validator("shift_start", "shift_end", mode="before")
    @classmethod
    def _hhmm(cls, v: Any) -> str:
        parts = str(v).split(":")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
            raise ValueError('must be HH:MM (quoted in YAML: "09:00")')
        return f"{int(parts[0]):02d}:{int(parts[1]):02d}"


@dataclass(frozen=True, config=STRICT)
class Secrets:
    """Only from the environment; never shown."""

    user_key_secret: SecretStr = SecretStr("")  # SIGURNO_USER_KEY_SECRET: keyed hash of user ids
    data_key: SecretStr = SecretStr("")  # SIGURNO_DATA_KEY: Fernet key that encrypts raw ids

    _strip = field_validator("user_key_secret", "data_key", mode="before")(_secret)


_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token
_TOKEN_IN_URL = re.compile(r"^[A-Za-z0-9:_-]+$")  # the Telegram token is part of every API path


@dataclass(frozen=True, config=STRICT)
class ChannelSettings:
    """The messaging platforms. A channel is on when its token is set; tokens and secrets only from the
    environment. Each api_url is the root the platform's documented paths are appended to."""

    viber_token: SecretStr = SecretStr("")
    viber_api_url: str = "https://chatapi.viber.com"
    viber_bot_name: Annotated[str, Field(min_length=1, max_length=28)] = "Sigurno"  # the sender name Viber shows
    messenger_page_token: SecretStr = SecretStr("")
    messenger_app_secret: SecretStr = SecretStr("")
    messenger_verify_token: SecretStr = SecretStr("")
    messenger_api_url: str = "https://graph.facebook.com/v25.0"
    telegram_token: SecretStr = SecretStr("")
    telegram_secret: SecretStr = SecretStr("")
    telegram_api_url: str = "https://api.telegram.org"
    send_timeout_seconds: Annotated[float, _between(0.1, 60)] = 10.0  # one call to a platform API
    dedup_hours: Annotated[float, _between(1, 24 * 30)] = 48.0  # platforms retry for a day or two

    _urls = field_validator("viber_api_url", "messenger_api_url", "telegram_api_url", mode="before")(_url)
    _strip = field_validator(
        "viber_token",
        "messenger_page_token",
        "messenger_app_secret",
        "messenger_verify_token",
        "telegram_token",
        "telegram_secret",
        mode="before",
    )(_secret)

    @model_validator(mode="after")
    def _companions(self) -> ChannelSettings:
        # A channel that is on must be able to prove where its webhooks come from: a missing secret is a
        # start-up error, never a webhook that anyone could post to.
        if self.messenger_page_token.get_secret_value():
            for var, value in (
                ("SIGURNO_MESSENGER_APP_SECRET", self.messenger_app_secret),
                ("SIGURNO_MESSENGER_VERIFY_TOKEN", self.messenger_verify_token),
            ):
                if not value.get_secret_value():
                    raise ValueError(f"{var} must be set when SIGURNO_MESSENGER_PAGE_TOKEN is set")
        token, secret = self.telegram_token.get_secret_value(), self.telegram_secret.get_secret_value()
        if token:
            if not secret:
                raise ValueError("SIGURNO_TELEGRAM_SECRET must be set when SIGURNO_TELEGRAM_TOKEN is set")
            if not _TELEGRAM_SECRET.match(secret):
                raise ValueError("SIGURNO_TELEGRAM_SECRET must be 1-256 of A-Z a-z 0-9 _ - (Telegram's rule)")
            if not _TOKEN_IN_URL.match(token):
                raise ValueError("SIGURNO_TELEGRAM_TOKEN has characters a bot token never has")
        return self

    @property
    def enabled(self) -> tuple[str, ...]:
        """The channels that are on, in a fixed order."""
        tokens = {"telegram": self.telegram_token, "viber": self.viber_token, "messenger": self.messenger_page_token}
        return tuple(name for name in CHANNEL_NAMES if tokens[name].get_secret_value())


@dataclass(frozen=True, config=STRICT)
class LimitSettings:
    """Abuse limits (per minute). A person over the limit is recorded but not answered."""

    person_per_minute: Annotated[int, _between(1, 10_000)] = 20  # messages from one person on a messaging channel
    web_ip_per_minute: Annotated[int, _between(1, 1_000_000)] = 120  # web chat requests from one address
    bad_webhook_ip_per_minute: Annotated[int, _between(1, 1_000_000)] = 30  # failing verification, then 429


@dataclass(frozen=True, config=STRICT)
class ConsoleSettings:
    """The mediator console: sessions, login limits, timers, and the optional Telegram chat for mediators."""

    session_hours: Annotated[float, _between(0.1, 24 * 30)] = 12.0  # a console login lasts this long
    secure_cookies: bool = False  # Secure cookies even when the request is not HTTPS (behind an HTTPS proxy)
    login_free_failures: Annotated[int, _between(0, 1000)] = 5  # failures of one (name, address) before waits
    login_delay_seconds: Annotated[float, _between(0.01, 3600)] = 1.0  # the first wait; doubles per failure
    login_max_delay_seconds: Annotated[float, _between(0.01, 86400)] = 900.0  # the longest wait
    login_attempts_per_ip: Annotated[int, _between(1, 1_000_000)] = 30  # all attempts of one address per window
    login_window_minutes: Annotated[int, _between(1, 1440)] = 15
    timer_seconds: Annotated[float, _between(0.05, 3600)] = 15.0  # how often re-alerts and idle releases run
    mediator_telegram_chat: str = ""  # a Telegram chat told of urgent cases: a chat id or @channelname
    # argon2-cffi's parameter profile for password hashes; CHEAPEST is for tests only (serve warns). Hashes
    # made with other parameters are upgraded at the next successful login.
    argon2_profile: Literal["RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST"] = "RFC_9106_LOW_MEMORY"

    @field_validator("mediator_telegram_chat", mode="before")
    @classmethod
    def _chat(cls, v: Any) -> Any:
        chat = str(v).strip()
        if chat and not re.fullmatch(r"-?\d{1,20}|@[A-Za-z0-9_]{5,32}", chat):
            raise ValueError("must be a Telegram chat id (digits) or @channelname")
        return chat


@dataclass(frozen=True, config=STRICT)
class Settings:
    nlu: NluSettings = dataclasses.field(default_factory=NluSettings)
    server: ServerSettings = dataclasses.field(default_factory=ServerSettings)
    storage: StorageSettings = dataclasses.field(default_factory=StorageSettings)
    privacy: PrivacySettings = dataclasses.field(default_factory=PrivacySettings)
    content: ContentSettings = dataclasses.field(default_factory=ContentSettings)
    mediators: MediatorSettings = dataclasses.field(default_factory=MediatorSettings)
    secrets: Secrets = dataclasses.field(default_factory=Secrets)
    channels: ChannelSettings = dataclasses.field(default_factory=ChannelSettings)
    limits: LimitSettings = dataclasses.field(default_factory=LimitSettings)
    console: ConsoleSettings = dataclasses.field(default_factory=ConsoleSettings)


# The documented variables (README, docker-compose) -> (section, key).
ENV_NAMES: dict[str, tuple[str, str]] = {
    "SIGURNO_NLU_BACKEND": ("nlu", "backend"),
    "SIGURNO_NLU_MODEL": ("nlu", "model_path"),
    "SIGURNO_RASA_URL": ("nlu", "rasa_url"),
    "SIGURNO_HOST": ("server", "host"),
    "SIGURNO_PORT": ("server", "port"),
    "SIGURNO_DATABASE_URL": ("storage", "database_url"),
    "SIGURNO_DATABASE_SCHEMA": ("storage", "schema"),
    "SIGURNO_REDIS_URL": ("storage", "redis_url"),
    "SIGURNO_REDIS_PREFIX": ("storage", "redis_prefix"),
    "SIGURNO_USER_KEY_SECRET": ("secrets", "user_key_secret"),
    "SIGURNO_DATA_KEY": ("secrets", "data_key"),
    "SIGURNO_VIBER_TOKEN": ("channels", "viber_token"),
    "SIGURNO_VIBER_API_URL": ("channels", "viber_api_url"),
    "SIGURNO_MESSENGER_PAGE_TOKEN": ("channels", "messenger_page_token"),
    "SIGURNO_MESSENGER_APP_SECRET": ("channels", "messenger_app_secret"),
    "SIGURNO_MESSENGER_VERIFY_TOKEN": ("channels", "messenger_verify_token"),
    "SIGURNO_MESSENGER_API_URL": ("channels", "messenger_api_url"),
    "SIGURNO_TELEGRAM_TOKEN": ("channels", "telegram_token"),
    "SIGURNO_TELEGRAM_SECRET": ("channels", "telegram_secret"),
    "SIGURNO_TELEGRAM_API_URL": ("channels", "telegram_api_url"),
    "SIGURNO_CONSOLE_SECURE_COOKIES": ("console", "secure_cookies"),
    "SIGURNO_MEDIATOR_TELEGRAM_CHAT": ("console", "mediator_telegram_chat"),
}
_VARIABLE = {place: var for var, place in ENV_NAMES.items()}
SECRET_KEYS = frozenset(
    (section, f.name)
    for section, cls in (("secrets", Secrets), ("channels", ChannelSettings))
    for f in dataclasses.fields(cls)
    if f.type in ("SecretStr", SecretStr)
)

_LOADING: contextvars.ContextVar[tuple[Path | None, Mapping[str, str]]] = contextvars.ContextVar("settings_loading")


class _DocumentedEnv(PydanticBaseSettingsSource):
    """The variables in ENV_NAMES, as nested values."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False  # unused: __call__ builds the whole mapping

    def __call__(self) -> dict[str, Any]:
        out: dict[str, dict[str, Any]] = {}
        for var, (section, key) in ENV_NAMES.items():
            value = self.env.get(var)
            if value:
                out.setdefault(section, {})[key] = value
        return out


class _NestedEnv(EnvSettingsSource):
    """SIGURNO_<SECTION>__<KEY>, from the given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._given, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class _Loaded(BaseSettings):
    """What pydantic-settings assembles from the sources; load_settings turns it into Settings."""

    model_config = SettingsConfigDict(
        env_prefix="SIGURNO_", env_nested_delimiter="__", env_ignore_empty=True, extra="forbid", frozen=True
    )

    nlu: NluSettings = Field(default_factory=NluSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    content: ContentSettings = Field(default_factory=ContentSettings)
    mediators: MediatorSettings = Field(default_factory=MediatorSettings)
    secrets: Secrets = Field(default_factory=Secrets)
    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path, env = _LOADING.get()
        sources: list[PydanticBaseSettingsSource] = [_DocumentedEnv(settings_cls, env), _NestedEnv(settings_cls, env)]
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path, yaml_file_encoding="utf-8"))
        return tuple(sources)


def _message(error: Mapping[str, Any]) -> str:
    """One pydantic error as "config: section.key (VARIABLE): what is wrong" (never the value)."""
    loc = [str(part) for part in error["loc"]]
    name = ".".join(loc)
    var = _VARIABLE.get((loc[0], loc[1])) if len(loc) >= 2 else None
    where = f"{name} ({var})" if var else name
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"config: {where}: unknown setting"
    msg = str(error["msg"]).removeprefix("Value error, ")
    return f"config: {where}: {msg}" if loc else f"config: {msg}"


def _read_yaml(path: Path) -> None:
    """Check the file before pydantic-settings reads it: YAML, a mapping, no secrets in it."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SettingsError(f"config: {path} is not valid YAML: {e}") from None
    if loaded is None:
        return
    if not isinstance(loaded, dict):
        raise SettingsError(f"config: {path} must be a mapping at the top")
    for section, values in loaded.items():
        if values is not None and not isinstance(values, dict):
            raise SettingsError(f"config: '{section}' must be a mapping")
        for key in values or {}:
            if (section, key) in SECRET_KEYS:
                var = _VARIABLE.get((section, key), f"SIGURNO_{section.upper()}__{str(key).upper()}")
                raise SettingsError(f"config: {section}.{key}: secrets come only from the environment ({var})")


def load_settings(config_path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read config.yml (or SIGURNO_CONFIG) and the SIGURNO_* environment; raise SettingsError if bad."""
    env = os.environ if env is None else env
    path: Path | None = config_path or Path(env.get("SIGURNO_CONFIG") or DEFAULT_CONFIG)
    assert path is not None
    if path.exists():
        _read_yaml(path)
    elif config_path is not None or env.get("SIGURNO_CONFIG"):
        raise SettingsError(f"config: {path} does not exist")
    else:
        path = None
    token = _LOADING.set((path, env))
    try:
        loaded = _Loaded()
    except ValidationError as e:
        raise SettingsError("; ".join(_message(err) for err in e.errors(include_input=False))) from None
    finally:
        _LOADING.reset(token)
    return Settings(**{f.name: getattr(loaded, f.name) for f in dataclasses.fields(Settings)})
