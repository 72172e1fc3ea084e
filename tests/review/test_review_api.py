"""The review queue through the console API: what the bot did not understand, masked, labelled or dismissed
by an editor, with audit entries; mediators are turned away; old items are pruned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from bot.console.review_api import REVIEW, TRAINER
from bot.review.capture import mask
from bot.review.export import ExportRefused, Labelled, write_examples
from bot.storage.review_repo import ReviewRepo
from nlu.trainingdata import load_examples, load_risk_examples
from tests.conftest import ROOT
from tests.handoff.conftest import Client, Rig, chat, handoff_of, sid
from tests.handoff.test_timers import T0

NOT_UNDERSTOOD = "kolko struva biletut za maca na levski, pishi mi na ivan.petrov@abv.bg ili 0888 123 456, kod 44123"


async def queue_of(editor: Any) -> list[dict[str, Any]]:
    status, body = await editor.get("/api/console/review?status=open")
    assert status == 200, body
    return list(body["items"])


async def test_a_not_understood_message_is_queued_masked_and_without_the_person(client: Client, mediators: Any) -> None:
    s = sid()
    await chat(client, s, payload="/start")
    await chat(client, s, text="zdravei")
    await chat(client, s, text=NOT_UNDERSTOOD)
    editor = await mediators("editor")
    items = await queue_of(editor)
    assert len(items) == 1, items  # the greeting was understood: not queued
    item = items[0]
    assert item["text"] == "kolko struva biletut za maca na levski, pishi mi na [email] ili [phone], kod [number]"
    assert item["nlu"]["intent"] == "out_of_scope" and "out_of_scope" in item["nlu"]["reasons"]
    assert set(item) == {"id", "text", "nlu", "at", "status"}
    key = handoff_of(client).store.key_for("web", s)
    assert key not in repr(item) and s not in repr(item)


async def test_newest_first_and_a_label_makes_a_training_example_with_an_audit_entry(
    client: Client, mediators: Any
) -> None:
    s = sid()
    await chat(client, s, payload="/start")
    await chat(client, s, text="blablabla qwerty")
    await chat(client, s, text=NOT_UNDERSTOOD)
    editor = await mediators("editor")
    newest, older = await queue_of(editor)
    assert newest["text"].startswith("kolko struva") and older["text"] == "blablabla qwerty"

    status, body = await editor.post(f"/api/console/review/{newest['id']}", {"intent": "bogus"})
    assert status == 400 and "intent" in body["error"]
    status, body = await editor.post(f"/api/console/review/{newest['id']}", {"intent": "wages_costs", "country": "xx1"})
    assert status == 400 and "country" in body["error"]
    status, body = await editor.post(
        f"/api/console/review/{newest['id']}", {"intent": "wages_costs", "country": "de", "risk": "none"}
    )
    assert status == 200 and body["status"] == "labelled"
    status, body = await editor.post(f"/api/console/review/{newest['id']}", {"dismiss": True})
    assert status == 409  # decided already
    status, body = await editor.post(f"/api/console/review/{older['id']}", {"dismiss": True})
    assert status == 200 and body["status"] == "dismissed"

    assert await queue_of(editor) == []
    status, labelled = await editor.get("/api/console/review?status=labelled")
    assert [i["id"] for i in labelled["items"]] == [newest["id"]]
    assert client.app is not None
    examples = await client.app[REVIEW].examples()
    assert [(e.text, e.intent, e.country, e.risk) for e in examples] == [(newest["text"], "wages_costs", "DE", "none")]
    audit = await handoff_of(client).repo.audit_log()
    entries = [(a.actor, a.action, a.detail.get("item")) for a in audit if a.action.startswith("review_")]
    assert entries == [(editor.name, "review_label", newest["id"]), (editor.name, "review_dismiss", older["id"])]
    assert all("kolko" not in repr(a.detail) for a in audit)


async def test_mediators_get_403_and_posts_need_the_csrf_token(client: Client, mediators: Any) -> None:
    mediator = await mediators("mediator")
    for path in ("/api/console/review?status=open", "/api/console/nlu", "/api/console/nlu/train/1"):
        status, _ = await mediator.get(path)
        assert status == 403, path
    for path, body in (
        ("/api/console/review/1", {"dismiss": True}),
        ("/api/console/nlu/train", {}),
        ("/api/console/nlu/publish", {"job": 1}),
    ):
        status, _ = await mediator.post(path, body)
        assert status == 403, path
    editor = await mediators("editor")
    status, _ = await editor.post("/api/console/review/1", {"dismiss": True}, csrf="")
    assert status == 403
    status, body = await editor.get("/api/console/review?status=everything")
    assert status == 400
    admin = await mediators("admin")
    status, body = await admin.get("/api/console/nlu")
    assert status == 200 and "emergency" in body["intents"] and body["live_version"] == 0


async def test_items_older_than_the_retention_period_are_pruned_by_the_hourly_timer(rig: Rig) -> None:
    days = rig.settings.privacy.retention_days
    rig.clock.now = T0
    repo = ReviewRepo(rig.store)
    await repo.add_item("old message", {"intent": "out_of_scope"})
    rig.clock.now = T0 + timedelta(days=days - 1)
    await repo.add_item("newer message", {"intent": "out_of_scope"})
    assert (await rig.handoff.timers.tick()).pruned == 0
    rig.handoff.timers._pruned_at = None  # as if an hour had passed
    rig.clock.now = T0 + timedelta(days=days + 1)
    assert (await rig.handoff.timers.tick()).pruned == 1
    assert [i.text for i in await repo.items("open")] == ["newer message"]


async def test_a_candidate_that_catches_fewer_urgent_messages_is_refused(client: Client, mediators: Any) -> None:
    assert client.app is not None
    repo: ReviewRepo = client.app[REVIEW]
    job = await repo.start_job("someone", 1, "hash", 0, timedelta(minutes=30))
    figures = {"n": 10, "intent": 0.9, "bg_latn": 0.9, "false_urgent": 0.0}
    scores = {
        "candidate": {"nlu_test": {**figures, "urgent_caught": 0.9}},
        "live": {"nlu_test": {**figures, "urgent_caught": 1.0}},
    }
    await repo.finish_job(job, b"not published", scores)
    editor = await mediators("editor")
    status, body = await editor.get(f"/api/console/nlu/train/{job}")
    assert status == 200 and body["status"] == "ready" and "urgent caught drops" in body["refusal"]
    status, body = await editor.post("/api/console/nlu/publish", {"job": job})
    assert status == 409 and "urgent caught drops on nlu_test" in body["error"]
    status, body = await editor.get(f"/api/console/nlu/train/{job}")
    assert body["status"] == "refused"
    assert client.app[TRAINER].live_nlu.version == 0
    audit = await handoff_of(client).repo.audit_log()
    assert [(a.action, a.detail["job"]) for a in audit if a.action.startswith("nlu_")] == [("nlu_publish_refused", job)]


async def test_a_second_training_waits_for_the_first(client: Client) -> None:
    assert client.app is not None
    repo: ReviewRepo = client.app[REVIEW]
    first = await repo.start_job("a", 0, "h", 0, timedelta(minutes=30))
    with pytest.raises(Exception, match=f"job {first}"):
        await repo.start_job("b", 0, "h", 0, timedelta(minutes=30))


def test_masking() -> None:
    assert mask("call +359 88 123 4567 or (02) 981 23 45") == "call [phone] or ([phone]"
    assert mask("mail me: a.b-c+d@mail.co.uk.") == "mail me: [email]."
    assert mask("passport 38291 and 1234 euro for 12 days") == "passport [number] and 1234 euro for 12 days"
    assert mask("0888123456") == "[phone]"


def test_export_writes_rasa_yaml_the_trainer_reads(tmp_path: Any) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "countries.yml").write_text(
        (ROOT / "nlu" / "data" / "countries.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    examples = [
        Labelled("kolko vzimat na den v germaniq", "wages_costs", "DE", None),
        Labelled("zakliuchiha ni\nv kashtata", "emergency", None, "urgent"),
        Labelled("[phone](x) ot kade", "hotline", None, None),
    ]
    assert write_examples(examples, data) == (3, 1)
    doc = yaml.safe_load((data / "review_labelled.yml").read_text(encoding="utf-8"))
    assert doc["version"] == "3.1"
    assert '[germaniq]{"entity": "country", "value": "DE"}' in (data / "review_labelled.yml").read_text()
    got = {(e.text, e.intent) for e in load_examples(data / "review_labelled.yml")}
    assert got == {
        ("kolko vzimat na den v germaniq", "wages_costs"),
        ("zakliuchiha ni v kashtata", "emergency"),
        ("[phone] (x) ot kade", "hotline"),
    }
    risk = load_risk_examples(tmp_path / "risk_data")
    assert [(r.text, r.level) for r in risk] == [("zakliuchiha ni v kashtata", "urgent")]
    with pytest.raises(ExportRefused):
        write_examples(examples, ROOT / "tests" / "data")
