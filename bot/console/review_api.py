"""The review page's API: what the bot did not understand, labelling, training and publishing an NLU model.

Under /api/console, with the console's rules (bot/console/api.py: session 401, X-CSRF-Token on POST 403);
editors and admins only (STAFF_ROLES), a mediator gets 403 on every route. Each label, dismissal, training
and publish (or refused publish) is an audit entry; its detail holds ids, intents and scores, never text.

GET  /api/console/review?status=open|labelled|dismissed  -> {"items": [{"id", "text", "nlu", "at"}]}
POST /api/console/review/{id}  {"intent", "country"?, "risk"?} | {"dismiss": true}
GET  /api/console/nlu          -> intents, risk levels, the live model's version, the latest jobs
POST /api/console/nlu/train    -> 202 {"job"}           (409 while another job trains)
GET  /api/console/nlu/train/{job} -> status, scores of the candidate and the live model, refusal
POST /api/console/nlu/publish  {"job"} -> {"version"}   (409 refused: fewer urgent messages caught)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.accounts.roles import STAFF_ROLES
from bot.console.api import ApiError, _body, _ip, _iso, _ok, api
from bot.console.pages import _page
from bot.handoff.service import Handoff
from bot.review.training import CannotTrain, Refused, Trainer, job_json
from bot.storage.console_repo import SessionRec
from bot.storage.review_models import ITEM_STATUSES, RISKS
from bot.storage.review_repo import Busy, NotDecidable, NotPublishable, ReviewRepo
from bot.wiring import Services
from nlu.types import INTENTS

REVIEW: web.AppKey[ReviewRepo] = web.AppKey("review", ReviewRepo)
TRAINER: web.AppKey[Trainer] = web.AppKey("trainer", Trainer)
COUNTRY = re.compile(r"^[A-Z]{2}$")
ID = r"{%s:[1-9][0-9]{0,17}}"


def item_json(item: Any) -> dict[str, Any]:
    return {"id": item.id, "text": item.text, "nlu": item.nlu, "at": _iso(item.created_at), "status": item.status}


@api(roles=STAFF_ROLES)
async def list_items(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    status = request.query.get("status", "open")
    if status not in ITEM_STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(ITEM_STATUSES)}")
    items = await request.app[REVIEW].items(status)
    return _ok({"status": status, "items": [item_json(i) for i in items]})


def _label(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    intent, country, risk = body.get("intent"), body.get("country") or None, body.get("risk") or None
    if not isinstance(intent, str) or intent not in INTENTS:
        raise ApiError(400, "'intent' must be one of " + ", ".join(INTENTS))
    if country is not None and (not isinstance(country, str) or not COUNTRY.match(country.upper())):
        raise ApiError(400, "'country' must be a two-letter country code (ISO 3166-1), e.g. DE")
    if risk is not None and risk not in RISKS:
        raise ApiError(400, "'risk' must be one of " + ", ".join(RISKS))
    return intent, None if country is None else country.upper(), risk


@api(write=True, roles=STAFF_ROLES)
async def decide(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    item_id = int(request.match_info["item_id"])
    body = await _body(request)
    repo, actor = request.app[REVIEW], session.user.name
    try:
        if body.get("dismiss") is True:
            await repo.dismiss(item_id, actor)
            await h.repo.audit(actor, "review_dismiss", ip=_ip(request), detail={"item": item_id})
            return _ok({"id": item_id, "status": "dismissed"})
        intent, country, risk = _label(body)
        example = await repo.label(item_id, actor, intent, country, risk)
    except NotDecidable:
        raise ApiError(409, "this message was labelled or dismissed already, or is gone") from None
    detail = {"item": item_id, "example": example, "intent": intent, "country": country, "risk": risk}
    await h.repo.audit(actor, "review_label", ip=_ip(request), detail=detail)
    return _ok({"id": item_id, "status": "labelled", "example": example})


@api(roles=STAFF_ROLES)
async def overview(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    trainer = request.app[TRAINER]
    jobs = await request.app[REVIEW].latest_jobs(5)
    return _ok(
        {
            "intents": [i for i in INTENTS],
            "risks": list(RISKS),
            "live_version": trainer.live_nlu.version,
            "open": await request.app[REVIEW].open_count(),
            "examples": len(await request.app[REVIEW].examples()),
            "jobs": [job_json(j) for j in jobs],
        }
    )


@api(write=True, roles=STAFF_ROLES)
async def train(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    try:
        job = await request.app[TRAINER].start(session.user.name)
    except Busy as e:
        raise ApiError(409, f"a model is being trained already (job {e.job})") from None
    except CannotTrain as e:
        raise ApiError(409, str(e)) from None
    await h.repo.audit(session.user.name, "nlu_train", ip=_ip(request), detail={"job": job})
    return _ok({"job": job, "status": "training"}, status=202)


@api(roles=STAFF_ROLES)
async def train_status(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    rec = await request.app[REVIEW].job(int(request.match_info["job"]))
    if rec is None:
        raise ApiError(404, "no such training job")
    return _ok(job_json(rec))


@api(write=True, roles=STAFF_ROLES)
async def publish(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    job = (await _body(request)).get("job")
    if not isinstance(job, int) or isinstance(job, bool) or job < 1:
        raise ApiError(400, "'job' must be a training job number")
    actor = session.user.name
    try:
        version = await request.app[TRAINER].publish(job, actor)
    except Refused as e:
        await h.repo.audit(actor, "nlu_publish_refused", ip=_ip(request), detail={"job": job, "why": e.why})
        raise ApiError(409, f"refused: {e.why}") from None
    except NotPublishable as e:
        raise ApiError(409, str(e)) from None
    rec = await request.app[REVIEW].job(job)
    scores = rec.scores.get("candidate") if rec else None
    await h.repo.audit(actor, "nlu_publish", ip=_ip(request), detail={"job": job, "version": version, "scores": scores})
    return _ok({"job": job, "version": version})


async def review_page(_: web.Request) -> web.FileResponse:
    return _page("review.html")


def add_review_api(app: web.Application, services_key: web.AppKey[Services]) -> None:
    """Register the review API and page; call it after add_console_api (the handlers use its HANDOFF)."""

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        svc = app[services_key]
        app[REVIEW] = ReviewRepo(svc.store)
        trainer = Trainer(svc.settings, app[REVIEW], svc.published, svc.nlu)
        app[TRAINER] = trainer
        yield
        await trainer.close()

    app.cleanup_ctx.append(lifetime)
    r = app.router
    r.add_get("/api/console/review", list_items)
    r.add_post("/api/console/review/" + ID % "item_id", decide)
    r.add_get("/api/console/nlu", overview)
    r.add_post("/api/console/nlu/train", train)
    r.add_get("/api/console/nlu/train/" + ID % "job", train_status)
    r.add_post("/api/console/nlu/publish", publish)
    r.add_get("/console/review", review_page)
