"""The staff studio's JSON API (/api/console/content/*): browse, edit drafts, preview, approve, publish,
roll back, stale facts. Editors and admins only (mediators get 403); the console's session and CSRF rules
(bot/console/api.py). Every edit, approval, publish and rollback goes into the audit log. Routes and
bodies are listed in README.md ("Staff studio").
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web

from bot import studio
from bot.accounts.roles import STAFF_ROLES
from bot.console.api import ApiError, _body, _ip, _iso, _ok, api
from bot.console.pages import _page
from bot.handoff.service import Handoff
from bot.live import Follower
from bot.storage.console_repo import SessionRec
from bot.storage.content_repo import ContentRefused, ContentRepo, DraftRec, PublishedItem
from bot.wiring import Services
from content.items import MAIN_TEXT, Item, json_safe, problems_of, texts_of, with_texts

MAX_TEXT = 4000
ITEM_ID = r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}"
_ID = re.compile(rf"^{ITEM_ID}$")
EDITABLE_SCALARS = ("source", "source_date", "checked", "phone", "url", "address")


@dataclass
class Studio:
    repo: ContentRepo
    follower: Follower
    stale_after_days: int


STUDIO: web.AppKey[Studio] = web.AppKey("studio", Studio)


def _studio(request: web.Request) -> Studio:
    return request.app[STUDIO]


def _dump(data: Any) -> list[str]:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).splitlines()


def diff(old: Any, new: Any) -> str:
    """A line diff of two item values (JSON, keys sorted): what an editor changed."""
    return "\n".join(difflib.unified_diff(_dump(old), _dump(new), "before", "after", lineterm="", n=1))


def item_json(p: PublishedItem, draft: DraftRec | None = None) -> dict[str, Any]:
    data = p.item.data if isinstance(p.item.data, dict) else {}
    return {
        "id": p.item.id,
        "kind": p.item.kind,
        "texts": texts_of(p.item),
        "source": data.get("source"),
        "source_date": data.get("source_date"),
        "checked": data.get("checked"),
        "phone": data.get("phone"),
        "version": p.version,
        "updated_at": _iso(p.updated_at),
        "updated_by": p.updated_by,
        "has_draft": draft is not None,
    }


def draft_json(p: PublishedItem, d: DraftRec) -> dict[str, Any]:
    shown = item_json(PublishedItem(p.item.model_copy(update={"data": d.data}), p.version, d.updated_at, d.author))
    return {
        **{k: shown[k] for k in ("texts", "source", "source_date", "checked", "phone")},
        "data": d.data,
        "author": d.author,
        "updated_at": _iso(d.updated_at),
        "base_version": d.base_version,
        "needs_approval": d.needs_approval,
        "approved_by": d.approved_by,
        "approved_at": _iso(d.approved_at),
        "diff": diff(p.item.data, d.data),
    }


def _country(item_id: str) -> str | None:
    parts = item_id.split("/")
    if parts[0] == "countries" and len(parts) > 1:
        return parts[1]
    return "BG" if parts[0] == "hotlines_bg" else None


# -- reading ------------------------------------------------------------------------------------------


@api(roles=STAFF_ROLES)
async def list_items(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    q = request.query.get("q", "").strip().casefold()
    country = request.query.get("country", "").strip().upper()
    lang = request.query.get("lang", "").strip().lower()
    topic = request.query.get("topic", "").strip()
    kind = request.query.get("kind", "").strip()
    stale_only = request.query.get("stale", "") in ("1", "true", "yes")
    items = await st.repo.items()
    drafts = await st.repo.drafts()
    stale = {f.id: f for f in studio.stale_facts((p.item for p in items), date.today(), st.stale_after_days)}
    out = []
    for p in items:
        texts = texts_of(p.item)
        if country and _country(p.item.id) != country:
            continue
        if lang and lang not in texts:
            continue
        if topic and topic not in p.item.id.split("/"):
            continue
        if kind and p.item.kind != kind:
            continue
        if stale_only and p.item.id not in stale:
            continue
        if q and q not in p.item.id.casefold() and not any(q in t.casefold() for t in texts.values()):
            continue
        j = item_json(p, drafts.get(p.item.id))
        if p.item.id in stale:
            j["stale"] = stale[p.item.id].to_json()
        out.append(j)
    return _ok({"items": out, "drafts": len(drafts)})


async def _published(st: Studio, item_id: str) -> PublishedItem:
    if not _ID.match(item_id):
        raise ApiError(400, "not an item id")
    p = await st.repo.item(item_id)
    if p is None:
        raise ApiError(404, "no such item")
    return p


@api(roles=STAFF_ROLES)
async def get_item(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    p = await _published(st, request.match_info["item_id"])
    d = await st.repo.draft(p.item.id)
    history = await st.repo.history(p.item.id)
    rows = []
    for i, rec in enumerate(history):
        before = history[i + 1].data if i + 1 < len(history) else None
        rows.append(
            {
                "version": rec.version,
                "action": rec.action,
                "author": rec.author,
                "approved_by": rec.approved_by,
                "at": _iso(rec.at),
                "data": rec.data,
                "diff": diff(before, rec.data) if before is not None else "",
            }
        )
    return _ok({"item": {**item_json(p, d), "data": p.item.data}, "draft": draft_json(p, d) if d else None,
                "history": rows})  # fmt: skip


@api(roles=STAFF_ROLES)
async def versions(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    return _ok({"version": await st.repo.version(), "versions": await st.repo.versions()})


@api(roles=STAFF_ROLES)
async def stale(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    raw = request.query.get("days", "")
    if raw and not raw.isdigit():
        raise ApiError(400, "'days' must be a whole number")
    days = int(raw) if raw else st.stale_after_days
    items = [p.item for p in await st.repo.items()]
    facts = studio.stale_facts(items, date.today(), days, all_facts=request.query.get("all") == "1")
    return _ok({"days": days, "today": date.today().isoformat(), "facts": [f.to_json() for f in facts]})


@api(roles=STAFF_ROLES)
async def preview(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    p = await _published(st, request.match_info["item_id"])
    lang = request.query.get("lang", "bg")
    channel = request.query.get("channel", "web")
    if lang not in ("bg", "en", "ru"):
        raise ApiError(400, "'lang' must be bg, en or ru")
    if channel not in studio.CHANNELS:
        raise ApiError(400, f"'channel' must be one of {', '.join(studio.CHANNELS)}")
    d = await st.repo.draft(p.item.id)
    item = p.item if d is None or request.query.get("published") == "1" else p.item.model_copy(update={"data": d.data})
    items = [item if q.item.id == item.id else q.item for q in await st.repo.items()]
    try:
        content = studio.content_from(items)
    except ValueError as e:
        raise ApiError(422, str(e)) from None
    return _ok(
        {"id": item.id, "lang": lang, "draft": item is not p.item, **studio.preview(content, item, lang, channel)}
    )


# -- writing ------------------------------------------------------------------------------------------


def _localized(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ApiError(400, f"'{what}' must be an object of language -> text")
    out: dict[str, str] = {}
    for lang, text in value.items():  # the language codes are the content schema's to judge
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ApiError(400, f"'{what}.{lang}' must be a text of at most {MAX_TEXT} characters")
        out[lang] = text
    return out


def edited(item: Item, body: dict[str, Any]) -> Any:
    """The item's data with the body's changes: texts, the scalar fields, other localized fields."""
    data = json_safe(item.data)
    if "texts" in body:
        try:
            data = with_texts(item.model_copy(update={"data": data}), _localized(body["texts"], "texts"))
        except ValueError as e:
            raise ApiError(400, str(e)) from None
    for key in EDITABLE_SCALARS:
        if key not in body:
            continue
        if not isinstance(data, dict) or MAIN_TEXT.get(item.kind, "") is None:  # a bare text has no fields
            raise ApiError(400, f"a {item.kind} item has no '{key}'")
        value = body[key]
        if value is None or (isinstance(value, str) and not value.strip()):
            data.pop(key, None)
            continue
        if not isinstance(value, str) or len(value) > 500:
            raise ApiError(400, f"'{key}' must be a text of at most 500 characters")
        data[key] = value.strip()
    fields = body.get("fields")
    if fields is not None:
        if not isinstance(fields, dict) or not isinstance(data, dict):
            raise ApiError(400, "'fields' must be an object of field -> {language: text}")
        for name, value in fields.items():
            if not isinstance(data.get(name), dict) and name != "note":
                raise ApiError(400, f"'{name}' is not a text field of this item")
            merged = dict(data.get(name) or {})
            for lang, text in _localized(value, f"fields.{name}").items():
                if text.strip():
                    merged[lang] = text
                else:
                    merged.pop(lang, None)
            data[name] = merged
    return data


@api(write=True, roles=STAFF_ROLES)
async def save_draft(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    p = await _published(st, request.match_info["item_id"])
    body = await _body(request)
    data = edited(p.item, body)
    problems = problems_of(p.item.model_copy(update={"data": data}))  # unknown keys, wrong types: the schema
    if problems:
        raise ApiError(422, "; ".join(problems[:5]))
    phone_change = studio.phones_changed(p.item.data, data)
    phone_kept = phone_change and isinstance(data, dict) and data.get("phone")
    if phone_kept and (not data.get("source") or not data.get("checked")):
        raise ApiError(422, "a phone number needs its source and the date it was checked ('source', 'checked')")
    items = [q.item for q in await st.repo.items()]
    before = set(studio.check_items(items))
    after = studio.check_items([q.model_copy(update={"data": data}) if q.id == p.item.id else q for q in items])
    new_errors = [e for e in after if e not in before]
    if new_errors:
        raise ApiError(422, "; ".join(new_errors[:5]))
    d = await st.repo.save_draft(p.item.id, data, session.user.name, needs_approval=phone_change)
    await h.repo.audit(
        session.user.name, "content_edit", ip=_ip(request), detail={"item": p.item.id, "phone_change": phone_change}
    )
    return _ok({"item": item_json(p, d), "draft": draft_json(p, d)})


@api(write=True, roles=STAFF_ROLES)
async def discard_draft(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    p = await _published(st, request.match_info["item_id"])
    if not await st.repo.discard_draft(p.item.id):
        raise ApiError(404, "this item has no draft")
    await h.repo.audit(session.user.name, "content_discard", ip=_ip(request), detail={"item": p.item.id})
    return _ok({"ok": True})


@api(write=True, roles=STAFF_ROLES)
async def approve(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    p = await _published(st, request.match_info["item_id"])
    d = await st.repo.approve(p.item.id, session.user.name)
    await h.repo.audit(session.user.name, "content_approve", ip=_ip(request), detail={"item": p.item.id})
    return _ok({"draft": draft_json(p, d)})


def _check(items: list[Item]) -> list[str]:
    return studio.check_items(items)


@api(write=True, roles=STAFF_ROLES)
async def publish(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    body = await _body(request)
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) and _ID.match(i) for i in ids)):
        raise ApiError(400, "'ids' must be a list of item ids")
    version, published = await st.repo.publish(ids, session.user.name, _check)
    await h.repo.audit(
        session.user.name, "content_publish", ip=_ip(request), detail={"version": version, "items": published}
    )
    await st.follower.refresh()  # this process answers with it at once; the others within a poll
    return _ok({"version": version, "ids": published})


@api(write=True, roles=STAFF_ROLES)
async def rollback(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    st = _studio(request)
    body = await _body(request)
    to = body.get("version")
    if not isinstance(to, int) or isinstance(to, bool):
        raise ApiError(400, "'version' must be a version number")
    version, changed = await st.repo.rollback(to, session.user.name, _check)
    await h.repo.audit(
        session.user.name, "content_rollback", ip=_ip(request), detail={"to": to, "version": version, "items": changed}
    )
    await st.follower.refresh()
    return _ok({"version": version, "ids": changed})


def _refusals(handler: Any) -> Any:
    """ContentRefused from the repository as the JSON error it names."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except ContentRefused as e:
            return web.json_response({"error": str(e)}, status=e.status, headers={"Cache-Control": "no-store"})

    return wrapped


def add_studio_api(app: web.Application, services_key: web.AppKey[Services]) -> None:
    """Register /api/console/content/*. Call it after add_console_api (it needs the services)."""

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        svc = app[services_key]
        app[STUDIO] = Studio(ContentRepo(svc.store), svc.follower, svc.settings.content.stale_after_days)
        yield

    app.cleanup_ctx.append(lifetime)
    r = app.router
    base = "/api/console/content"
    item = base + "/items/{item_id:" + ITEM_ID + "}"
    r.add_get(base + "/items", list_items)
    r.add_get(base + "/versions", versions)
    r.add_get(base + "/stale", stale)
    r.add_post(base + "/publish", _refusals(publish))
    r.add_post(base + "/rollback", _refusals(rollback))
    r.add_get(base + "/preview/{item_id:" + ITEM_ID + "}", preview)
    r.add_post(item + "/approve", _refusals(approve))
    r.add_delete(item + "/draft", discard_draft)
    r.add_get(item, get_item)
    r.add_put(item, _refusals(save_draft))
    # The pages (their files are in bot/console/static/, served like the console's other pages).
    r.add_get("/console/content", content_page)
    r.add_get("/console/content/stale", stale_page)
    r.add_get("/console/content/items/{item_id:" + ITEM_ID + "}", item_page)


async def content_page(_: web.Request) -> web.FileResponse:
    return _page("content.html")


async def stale_page(_: web.Request) -> web.FileResponse:
    return _page("content-stale.html")


async def item_page(_: web.Request) -> web.FileResponse:
    return _page("content-item.html")
