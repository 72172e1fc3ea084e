"""Settings: config.yml and SIGURNO_* through pydantic-settings; bounds, unknown keys, secrets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.settings import ServerSettings, Settings, SettingsError, load_settings
from tests.conftest import ROOT

CONFIG = ROOT / "config.yml"


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_gives_the_defaults() -> None:
    assert load_settings(CONFIG, env={}) == Settings()
    assert load_settings(None, env={"SIGURNO_CONFIG": str(CONFIG)}) == Settings()


def test_an_unknown_key_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"server\.max_body_byte: unknown setting"):
        load_settings(config(tmp_path, "server:\n  max_body_byte: 1000\n"), env={})
    with pytest.raises(SettingsError, match=r"serverr: unknown setting"):
        load_settings(config(tmp_path, "serverr:\n  port: 1\n"), env={})
    with pytest.raises(SettingsError, match=r"limits\.per_person: unknown setting"):
        load_settings(CONFIG, env={"SIGURNO_LIMITS__PER_PERSON": "3"})


def test_a_value_out_of_bounds_is_refused_with_its_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"server\.port \(SIGURNO_PORT\): .*65535"):
        load_settings(CONFIG, env={"SIGURNO_PORT": "70000"})
    with pytest.raises(SettingsError, match=r"privacy\.retention_days: .*greater than or equal to 1"):
        load_settings(config(tmp_path, "privacy:\n  retention_days: 0\n"), env={})
    with pytest.raises(SettingsError, match=r"mediators\.shift_start: must be HH:MM"):
        load_settings(config(tmp_path, "mediators:\n  shift_start: '25:00'\n"), env={})
    with pytest.raises(SettingsError, match=r"storage\.database_url \(SIGURNO_DATABASE_URL\)"):
        load_settings(CONFIG, env={"SIGURNO_DATABASE_URL": "mysql://x"})
    with pytest.raises(ValueError, match="less than or equal to 65535"):  # a change in code is checked too
        dataclasses.replace(ServerSettings(), port=70000)


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = config(tmp_path, "server:\n  port: 8081\n  max_body_bytes: 2048\nlimits:\n  person_per_minute: 7\n")
    s = load_settings(path, env={})
    assert (s.server.port, s.server.max_body_bytes, s.limits.person_per_minute) == (8081, 2048, 7)
    s = load_settings(
        path, env={"SIGURNO_PORT": "9001", "SIGURNO_SERVER__MAX_BODY_BYTES": "4096", "SIGURNO_REDIS_URL": ""}
    )
    assert (s.server.port, s.server.max_body_bytes, s.limits.person_per_minute) == (9001, 4096, 7)
    assert s.storage.redis_url is None  # an empty variable counts as unset
    assert s.server.host == ServerSettings().host


def test_secrets_never_show_and_never_come_from_the_file(tmp_path: Path) -> None:
    env = {"SIGURNO_USER_KEY_SECRET": "user-key-secret-0123456789", "SIGURNO_DATA_KEY": "data-key-value-abcdef"}
    s = load_settings(CONFIG, env=env)
    assert s.secrets.user_key_secret.get_secret_value() == "user-key-secret-0123456789"
    for shown in (repr(s), str(s), repr(s.secrets)):
        assert "user-key-secret" not in shown and "data-key-value" not in shown
    with pytest.raises(SettingsError, match=r"channels\.telegram_token: secrets come only from the environment"):
        load_settings(config(tmp_path, "channels:\n  telegram_token: '1:abc'\n"), env={})


def test_a_file_that_is_not_settings(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(config(tmp_path, "server: [\n"), env={})
    with pytest.raises(SettingsError, match="mapping at the top"):
        load_settings(config(tmp_path, "- 1\n"), env={})
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.yml", env={})
