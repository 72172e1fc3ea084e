"""Channel settings from the environment, the channel registry, and the commands that use them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bot import channels as registry
from bot.channels import ChannelError, Channels, open_channels
from bot.settings import ChannelSettings, SettingsError, load_settings
from dialogues.types import Button, Reply
from tests.channels import harness as h
from tests.conftest import ROOT
from tests.pipeline.conftest import FakeChannel

CONFIG = ROOT / "config.yml"
ALL = {
    "SIGURNO_TELEGRAM_TOKEN": h.TELEGRAM_TOKEN,
    "SIGURNO_TELEGRAM_SECRET": h.TELEGRAM_SECRET,
    "SIGURNO_VIBER_TOKEN": h.VIBER_TOKEN,
    "SIGURNO_MESSENGER_PAGE_TOKEN": h.MESSENGER_PAGE_TOKEN,
    "SIGURNO_MESSENGER_APP_SECRET": h.MESSENGER_APP_SECRET,
    "SIGURNO_MESSENGER_VERIFY_TOKEN": h.MESSENGER_VERIFY_TOKEN,
}


def channels(**env: str) -> ChannelSettings:
    return load_settings(CONFIG, env=env).channels


def test_no_token_no_channel_and_the_platforms_own_urls_by_default() -> None:
    ch = channels()
    assert ch.enabled == ()
    assert (ch.telegram_api_url, ch.viber_api_url, ch.messenger_api_url) == (
        "https://api.telegram.org",
        "https://chatapi.viber.com",
        "https://graph.facebook.com/v25.0",
    )


def test_a_channel_is_on_when_its_token_is_set() -> None:
    assert channels(**ALL).enabled == ("telegram", "viber", "messenger")
    assert channels(SIGURNO_VIBER_TOKEN="t").enabled == ("viber",)
    ch = channels(SIGURNO_VIBER_TOKEN="t", SIGURNO_VIBER_API_URL="http://127.0.0.1:9/")
    assert ch.viber_api_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("SIGURNO_TELEGRAM_SECRET", "SIGURNO_TELEGRAM_SECRET"),
        ("SIGURNO_MESSENGER_APP_SECRET", "SIGURNO_MESSENGER_APP_SECRET"),
        ("SIGURNO_MESSENGER_VERIFY_TOKEN", "SIGURNO_MESSENGER_VERIFY_TOKEN"),
    ],
)
def test_a_channel_on_without_its_secret_stops_start_up(missing: str, named: str) -> None:
    env = {k: v for k, v in ALL.items() if k != missing}
    with pytest.raises(SettingsError, match=named):
        load_settings(CONFIG, env=env)


def test_bad_values_are_refused_without_showing_them() -> None:
    with pytest.raises(SettingsError, match="SIGURNO_TELEGRAM_API_URL"):
        channels(SIGURNO_TELEGRAM_API_URL="ftp://x")
    with pytest.raises(SettingsError, match="SIGURNO_TELEGRAM_SECRET") as e:
        channels(SIGURNO_TELEGRAM_TOKEN="1:a", SIGURNO_TELEGRAM_SECRET="has spaces in it")
    assert "has spaces" not in str(e.value)


def test_tokens_and_secrets_never_show_in_repr() -> None:
    shown = repr(load_settings(CONFIG, env=ALL))
    for value in ALL.values():
        assert value not in shown


async def test_the_registry_builds_the_channels_that_are_on_around_one_session() -> None:
    async with open_channels(channels(**ALL)) as built:
        assert built.names == ("telegram", "viber", "messenger")
        assert built.session is not None and not built.session.closed
        session = built.session
        for ch in built:
            assert getattr(ch, "_session", session) is session
            assert not any(v in repr(ch) for v in ALL.values())
    assert session.closed
    async with open_channels(channels()) as none:
        assert len(none) == 0 and none.session is None


async def test_a_missing_module_is_an_error_only_when_its_channel_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        registry.MODULES, "viber", ("bot.channels.no_such_module", "ViberChannel", "SIGURNO_VIBER_TOKEN")
    )
    async with open_channels(channels(SIGURNO_TELEGRAM_TOKEN="1:abc", SIGURNO_TELEGRAM_SECRET="s")) as only_telegram:
        assert only_telegram.names == ("telegram",)
    with pytest.raises(ChannelError, match=r"viber channel is on \(SIGURNO_VIBER_TOKEN is set\)"):
        async with open_channels(channels(SIGURNO_VIBER_TOKEN="t")):
            pass


async def test_channels_send_fits_and_sends_every_part() -> None:
    fake = FakeChannel()
    reg = Channels({"fake": fake})
    reply = Reply("para one\n\n" + "x" * 4100, tuple(Button(f"B{i}", f"p:{i}") for i in range(5)))
    ids = await reg.send("fake", "u1", reply)
    assert len(ids) == 3 == len(fake.sent)  # "para one", 4000 x, the rest with the numbered list
    assert [len(s.reply.buttons) for s in fake.sent] == [0, 0, 3]
    assert fake.sent[2].reply.text.endswith("4. B3\n5. B4")
    with pytest.raises(Exception, match="not on"):
        await reg.send("viber", "u1", reply)


def _sigurno(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_serve_refuses_to_start_without_a_channel_secret_or_with_an_unreachable_redis(tmp_path: Path) -> None:
    r = _sigurno("serve", env={"SIGURNO_TELEGRAM_TOKEN": h.TELEGRAM_TOKEN})
    assert r.returncode == 2 and "SIGURNO_TELEGRAM_SECRET must be set" in r.stderr
    assert h.TELEGRAM_TOKEN not in r.stderr + r.stdout
    db = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    r = _sigurno("serve", "--port", "0", env={"SIGURNO_REDIS_URL": "redis://127.0.0.1:1/0", "SIGURNO_DATABASE_URL": db})
    assert r.returncode == 2 and "SIGURNO_REDIS_URL" in r.stderr and "Traceback" not in r.stderr


async def test_set_webhook_registers_every_channel_that_is_on(tmp_path: Path, nlu_model_path: Path) -> None:
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "channels",
            "set-webhook",
            "--public-url",
            "https://bot.example.org/",
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    stdout, stderr = out.decode(), err.decode()
    (tg,) = api.calls("setWebhook")
    assert tg.body["url"] == "https://bot.example.org/webhooks/telegram"
    assert tg.body["secret_token"] == h.TELEGRAM_SECRET
    (vb,) = api.calls("set_webhook")
    assert vb.body["url"] == "https://bot.example.org/webhooks/viber"
    assert vb.body["send_name"] is False and vb.body["send_photo"] is False
    assert "telegram: webhook set" in stdout and "viber: webhook set" in stdout
    assert proc.returncode == 1 and "messenger:" in stderr  # subscribed in Meta's dashboard: a clear error
    for secret in h.SECRETS:
        assert secret not in stdout + stderr
    r = _sigurno("channels", "set-webhook", "--public-url", "http://insecure", env=env)
    assert r.returncode == 2 and "https://" in r.stderr
