"""The case lifecycle as an explicit state machine, and the service that moves cases through it.

    queued --claim--> assigned --close--> closed
       |                  \\--release--> released   (back to the bot)
       \\--close--> closed

Every move is one conditional update in the database together with its case event (who, when): claims
are atomic across processes (two mediators at once: one wins, the other gets AlreadyTaken), and a move
made on a stale view (the case moved meanwhile) fails instead of undoing someone else's. The person is
told when a person takes over (handoff_started) and when the bot is back (handoff_ended).
"""

from __future__ import annotations

from bot.coordination import Coordination, MemoryCoordination
from bot.handoff.notify import Notifier
from bot.handoff.relay import Relay
from bot.storage.cases import ANY, CASE_ACTIONS, CASE_TRANSITIONS
from bot.storage.console_repo import ConsoleRepo
from bot.storage.errors import UnknownCase
from bot.storage.records import CaseRec
from bot.storage.store import Store

ACTIONS = CASE_ACTIONS
TRANSITIONS = CASE_TRANSITIONS  # the one table (bot.storage.cases); every move goes through Store.move_case
OUTCOMES = (
    "referred_hotline",
    "referred_police",
    "referred_embassy",
    "referred_ngo",
    "advice_given",
    "no_contact",
    "false_alarm",
    "other",
)


class TransitionError(Exception):
    """A move the case cannot make now (HTTP 409)."""


class InvalidTransition(TransitionError):
    def __init__(self, status: str, action: str) -> None:
        allowed = [a for (s, a) in TRANSITIONS if s == status]
        hint = f"a {status} case can be: {', '.join(allowed)}" if allowed else f"a {status} case is final"
        super().__init__(f"cannot {action} a {status} case ({hint})")
        self.status, self.action = status, action


class AlreadyTaken(TransitionError):
    def __init__(self) -> None:
        super().__init__("already taken")


class NotYours(TransitionError):
    def __init__(self) -> None:
        super().__init__("this case is not assigned to you")


def next_status(status: str, action: str) -> str:
    """The status after `action`, or InvalidTransition (AlreadyTaken for a claim on an assigned case)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    new = TRANSITIONS.get((status, action))
    if new is None:
        if action == "claim" and status == "assigned":
            raise AlreadyTaken()
        raise InvalidTransition(status, action)
    return new


class CaseService:
    def __init__(
        self,
        store: Store,
        repo: ConsoleRepo,
        relay: Relay,
        notifier: Notifier,
        coordination: Coordination | None = None,
    ) -> None:
        self.store, self.repo, self.relay, self.notifier = store, repo, relay, notifier
        self.coordination = coordination or MemoryCoordination()

    async def _get(self, case_id: int) -> CaseRec:
        case = await self.store.get_case(case_id)
        if case is None:
            raise UnknownCase(case_id)
        return case

    async def _lost_race(self, case_id: int, action: str, assignee: object) -> TransitionError:
        """Why a conditional move matched nothing: the case moved (or changed hands) in between."""
        case = await self._get(case_id)
        if action == "claim" and case.status == "assigned":
            return AlreadyTaken()
        if assignee is not ANY and case.status == "assigned" and case.assignee != assignee:
            return NotYours()
        if (case.status, action) in TRANSITIONS:
            return TransitionError("the case changed meanwhile; reload it and try again")
        return InvalidTransition(case.status, action)

    async def claim(self, case_id: int, mediator: str) -> CaseRec:
        case = await self._get(case_id)
        next_status(case.status, "claim")
        # Under the person's conversation lock: a bot turn that already read "queued" finishes first, and
        # every later turn sees "assigned" (the bot never answers after the mediator has joined).
        async with self.coordination.hold(case.person_key):
            claimed = await self.store.move_case(case_id, "claim", mediator)  # atomic: UPDATE ... WHERE queued
        if claimed is None:
            raise await self._lost_race(case_id, "claim", ANY)
        await self.notifier.case_updated(claimed, "claimed")
        await self.relay.notice(claimed.person_key, "handoff_started", claimed.id)
        return claimed

    async def release(self, case_id: int, actor: str, *, assignee: object = ANY, reason: str | None = None) -> CaseRec:
        """assigned -> released (the bot answers again). `assignee`: only if the case is still theirs."""
        case = await self._get(case_id)
        next_status(case.status, "release")
        if assignee is not ANY and case.assignee != assignee:
            raise NotYours()
        released = await self.store.move_case(
            case_id,
            "release",
            actor,
            from_status="assigned",
            assignee=case.assignee,  # as seen: a case that changed hands meanwhile is not touched
            reason=reason,
        )
        if released is None:
            raise await self._lost_race(case_id, "release", assignee)
        await self.notifier.case_updated(released, "released")
        await self.relay.notice(released.person_key, "handoff_ended", released.id)
        return released

    async def close(self, case_id: int, actor: str, outcome: str, *, assignee: object = ANY) -> CaseRec:
        """queued | assigned -> closed with an outcome. `assignee`: only an assigned case that is theirs."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        case = await self._get(case_id)
        next_status(case.status, "close")
        if assignee is not ANY and (case.status != "assigned" or case.assignee != assignee):
            raise NotYours()
        closed = await self.store.move_case(
            case_id,
            "close",
            actor,
            from_status=case.status,  # as seen: a case that moved meanwhile is not touched
            assignee=case.assignee,
            outcome=outcome,
        )
        if closed is None:
            raise await self._lost_race(case_id, "close", assignee)
        await self.notifier.case_updated(closed, "closed")
        if case.status == "assigned":
            await self.relay.notice(closed.person_key, "handoff_ended", closed.id)
        return closed
