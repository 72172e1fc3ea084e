"""The staff studio's repository: content items, drafts, approvals, publishes, rollbacks, history.

A publish or a rollback is one transaction that first bumps the "content" row of published_versions
(bot/storage/published.py: that also makes concurrent publishes wait for each other), then writes the
changed items and one history row per changed item at the new version. Every running process follows
the version (bot/live.py) and loads `state_at(version)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.content_models import ContentDraft, ContentFile, ContentHistory, ContentItem
from bot.storage.engine import WRITE
from bot.storage.published import PublishedVersion, bump_in
from bot.storage.store import Store, StoreError, redact_errors
from content.items import Item

CONTENT = "content"
Check = Callable[[list[Item]], list[str]]  # the items about to be published -> errors that block it


class ContentRefused(StoreError):
    """A draft, approval, publish or rollback that may not happen; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PublishedItem:
    item: Item
    version: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class DraftRec:
    item_id: str
    data: Any
    base_version: int
    author: str
    updated_at: datetime
    needs_approval: bool
    approved_by: str | None
    approved_at: datetime | None


@dataclass(frozen=True)
class HistoryRec:
    version: int
    data: Any
    action: str
    author: str
    approved_by: str | None
    at: datetime


def _item(row: Any, item_id: str | None = None) -> Item:
    return Item(id=item_id or row.id, kind=row.kind, file=row.file, path=tuple(row.path), data=row.data)


def _draft(row: Any) -> DraftRec:
    return DraftRec(
        row.item_id,
        row.data,
        row.base_version,
        row.author,
        row.updated_at,
        bool(row.needs_approval),
        row.approved_by,
        row.approved_at,
    )


@redact_errors
class ContentRepo:
    """`ContentRepo(store)`: shares the store's engine and clock."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._engine = store.engine
        self._writer = store.engine.execution_options(**WRITE)

    def now(self) -> datetime:
        return self._store._now()

    # -- reading ----------------------------------------------------------------------------------

    async def is_empty(self) -> bool:
        async with self._engine.connect() as conn:
            return (await conn.scalar(select(func.count()).select_from(ContentItem))) == 0

    async def version(self) -> int:
        async with self._engine.connect() as conn:
            v = await conn.scalar(select(PublishedVersion.version).where(PublishedVersion.name == CONTENT))
        return int(v or 0)

    async def items(self) -> list[PublishedItem]:
        async with self._engine.connect() as conn:
            return await self._items(conn)

    async def _items(self, conn: AsyncConnection) -> list[PublishedItem]:
        rows = await conn.execute(select(ContentItem).order_by(ContentItem.position))
        return [PublishedItem(_item(r), r.version, r.updated_at, r.updated_by) for r in rows]

    async def item(self, item_id: str) -> PublishedItem | None:
        async with self._engine.connect() as conn:
            r = (await conn.execute(select(ContentItem).where(ContentItem.id == item_id))).first()
        return None if r is None else PublishedItem(_item(r), r.version, r.updated_at, r.updated_by)

    async def drafts(self) -> dict[str, DraftRec]:
        async with self._engine.connect() as conn:
            return {r.item_id: _draft(r) for r in await conn.execute(select(ContentDraft))}

    async def draft(self, item_id: str) -> DraftRec | None:
        async with self._engine.connect() as conn:
            r = (await conn.execute(select(ContentDraft).where(ContentDraft.item_id == item_id))).first()
        return None if r is None else _draft(r)

    async def history(self, item_id: str) -> list[HistoryRec]:
        """The item's published states, newest first."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(ContentHistory).where(ContentHistory.item_id == item_id).order_by(ContentHistory.id.desc())
            )
            return [HistoryRec(r.version, r.data, r.action, r.author, r.approved_by, r.created_at) for r in rows]

    async def versions(self, limit: int = 200) -> list[dict[str, Any]]:
        """Published versions, newest first: {"version", "action", "author", "at", "items"} (items changed)."""
        h = ContentHistory
        stmt = (
            select(h.version, func.min(h.action), func.min(h.author), func.min(h.created_at), func.count())
            .group_by(h.version)
            .order_by(h.version.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            {"version": v, "action": a, "author": who, "at": at.isoformat().replace("+00:00", "Z") if at else None,
             "items": n}
            for v, a, who, at, n in rows
        ]  # fmt: skip

    async def state_at(self, version: int) -> list[Item]:
        """The whole content as it was published at `version` (items in document order)."""
        async with self._engine.connect() as conn:
            return await self._state_at(conn, version)

    async def _state_at(self, conn: AsyncConnection, version: int) -> list[Item]:
        newest = (
            select(ContentHistory.item_id, func.max(ContentHistory.id).label("hid"))
            .where(ContentHistory.version <= version)
            .group_by(ContentHistory.item_id)
            .subquery()
        )
        rows = await conn.execute(
            select(ContentHistory)
            .join(newest, ContentHistory.id == newest.c.hid)
            .where(ContentHistory.data.is_not(None))
            .order_by(ContentHistory.position)
        )
        return [_item(r, r.item_id) for r in rows]

    async def seeds(self) -> dict[str, str]:
        async with self._engine.connect() as conn:
            return {r.name: r.seed for r in await conn.execute(select(ContentFile))}

    # -- import -------------------------------------------------------------------------------------

    async def import_items(self, items: Sequence[Item], seeds: dict[str, str], author: str, *, first: bool) -> int:
        """Make `items` the published content. `first`: only into an empty database, as version 0 (the YAML
        every process already has), else nothing happens and -1 is returned. Otherwise every item that
        differs becomes a new published version (returned; the current one when nothing differs)."""
        now = self.now()
        async with self._writer.begin() as conn:
            current = {p.item.id: p for p in await self._items(conn)}
            if first and current:
                return -1
            changed = {i.id for i in items if current.get(i.id) is None or current[i.id].item != i}
            removed = [p.item for p in current.values() if p.item.id not in {i.id for i in items}]
            if not first and not changed and not removed and seeds == await self._seeds(conn):
                return await self._version(conn)
            version = 0 if first else await bump_in(conn, CONTENT, now)
            history = []
            for gone in removed:
                await conn.execute(delete(ContentDraft).where(ContentDraft.item_id == gone.id))
                history.append({**self._history_row(gone, -1, version, "import", author, None, now), "data": None})
            for position, item in enumerate(items):
                if item.id in changed:
                    history.append(self._history_row(item, position, version, "import", author, None, now))
            await self._add_history(conn, history)
            await conn.execute(delete(ContentItem))
            rows = [
                dict(id=i.id, kind=i.kind, file=i.file, path=list(i.path), position=p, data=i.data,
                     version=version if i.id in changed else current[i.id].version,
                     updated_at=now if i.id in changed else current[i.id].updated_at,
                     updated_by=author if i.id in changed else current[i.id].updated_by)
                for p, i in enumerate(items)
            ]  # fmt: skip
            if rows:
                await conn.execute(insert(ContentItem), rows)
            await conn.execute(delete(ContentFile))
            if seeds:
                await conn.execute(
                    insert(ContentFile), [dict(name=n, seed=t, imported_at=now) for n, t in sorted(seeds.items())]
                )
            return version

    async def _seeds(self, conn: AsyncConnection) -> dict[str, str]:
        return {r.name: r.seed for r in await conn.execute(select(ContentFile))}

    async def _version(self, conn: AsyncConnection) -> int:
        v = await conn.scalar(select(PublishedVersion.version).where(PublishedVersion.name == CONTENT))
        return int(v or 0)

    async def _item_version(self, conn: AsyncConnection, item_id: str) -> int:
        v = await conn.scalar(select(func.max(ContentHistory.version)).where(ContentHistory.item_id == item_id))
        return int(v or 0)

    @staticmethod
    def _history_row(
        item: Item, position: int, version: int, action: str, author: str, approved_by: str | None, now: datetime
    ) -> dict[str, Any]:
        return dict(item_id=item.id, version=version, kind=item.kind, file=item.file, path=list(item.path),
                    position=position, data=item.data, action=action, author=author, approved_by=approved_by,
                    created_at=now)  # fmt: skip

    async def _add_history(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        if rows:
            await conn.execute(insert(ContentHistory), rows)

    # -- drafts and approvals -------------------------------------------------------------------------

    async def save_draft(self, item_id: str, data: Any, author: str, *, needs_approval: bool) -> DraftRec:
        """Save (or replace) the draft of a published item; a changed draft loses any earlier approval."""
        now = self.now()
        async with self._writer.begin() as conn:
            version = await conn.scalar(select(ContentItem.version).where(ContentItem.id == item_id))
            if version is None:
                raise ContentRefused(404, "no such item")
            values = dict(data=data, base_version=version, author=author, updated_at=now,
                          needs_approval=needs_approval, approved_by=None, approved_at=None)  # fmt: skip
            done = await conn.execute(update(ContentDraft).where(ContentDraft.item_id == item_id).values(**values))
            if not done.rowcount:
                await conn.execute(insert(ContentDraft).values(item_id=item_id, **values))
            row = (await conn.execute(select(ContentDraft).where(ContentDraft.item_id == item_id))).one()
            return _draft(row)

    async def discard_draft(self, item_id: str) -> bool:
        async with self._writer.begin() as conn:
            return bool((await conn.execute(delete(ContentDraft).where(ContentDraft.item_id == item_id))).rowcount)

    async def approve(self, item_id: str, approver: str) -> DraftRec:
        """A second editor's approval of a draft that changes a phone number."""
        now = self.now()
        async with self._writer.begin() as conn:
            row = (await conn.execute(select(ContentDraft).where(ContentDraft.item_id == item_id))).first()
            if row is None:
                raise ContentRefused(404, "this item has no draft")
            if row.author == approver:
                raise ContentRefused(409, "the approval must come from another editor than the draft's author")
            await conn.execute(
                update(ContentDraft)
                .where(ContentDraft.item_id == item_id)
                .values(approved_by=approver, approved_at=now)
            )
            row = (await conn.execute(select(ContentDraft).where(ContentDraft.item_id == item_id))).one()
            return _draft(row)

    # -- publish and rollback -------------------------------------------------------------------------

    async def publish(self, ids: Iterable[str] | None, author: str, check: Check) -> tuple[int, list[str]]:
        """Publish the drafts of `ids` (None: every draft that is ready). Returns (version, published ids).

        ContentRefused: 404 no such draft; 409 a phone change without its second approval, or nothing to
        publish; 422 the content with these drafts fails the check (the errors named)."""
        now = self.now()
        async with self._writer.begin() as conn:
            drafts = {r.item_id: _draft(r) for r in await conn.execute(select(ContentDraft))}
            if ids is None:
                chosen = [d for d in drafts.values() if not d.needs_approval or d.approved_by]
            else:
                wanted = list(dict.fromkeys(ids))
                missing = [i for i in wanted if i not in drafts]
                if missing:
                    raise ContentRefused(404, f"no draft for {', '.join(missing)}")
                chosen = [drafts[i] for i in wanted]
                waiting = [d.item_id for d in chosen if d.needs_approval and not d.approved_by]
                if waiting:
                    raise ContentRefused(
                        409, f"a phone number change needs a second editor's approval first: {', '.join(waiting)}"
                    )
            if not chosen:
                raise ContentRefused(409, "nothing to publish: no draft is ready")
            version = await bump_in(conn, CONTENT, now)  # first: a concurrent publish waits here
            current = await self._items(conn)
            by_id = {d.item_id: d for d in chosen}
            new_items = [p.item.model_copy(update={"data": by_id[p.item.id].data}) if p.item.id in by_id else p.item
                         for p in current]  # fmt: skip
            errors = check(new_items)
            if errors:
                raise ContentRefused(422, "; ".join(errors[:5]))
            history = []
            for position, (p, item) in enumerate(zip(current, new_items, strict=True)):
                if p.item.id not in by_id:
                    continue
                await conn.execute(
                    update(ContentItem)
                    .where(ContentItem.id == item.id)
                    .values(data=item.data, version=version, updated_at=now, updated_by=author)
                )
                d = by_id[item.id]
                history.append(self._history_row(item, position, version, "publish", d.author, d.approved_by, now))
            await self._add_history(conn, history)
            await conn.execute(delete(ContentDraft).where(ContentDraft.item_id.in_(list(by_id))))
            return version, list(by_id)

    async def rollback(self, to_version: int, author: str, check: Check) -> tuple[int, list[str]]:
        """A new version whose content equals version `to_version`; the ids that changed."""
        now = self.now()
        async with self._writer.begin() as conn:
            latest = await self._version(conn)
            if to_version < 0 or to_version > latest:
                raise ContentRefused(404, f"no published version {to_version} (the latest is {latest})")
            target = {i.id: i for i in await self._state_at(conn, to_version)}
            current = await self._items(conn)
            changed = [p.item.id for p in current if p.item.id in target and target[p.item.id] != p.item]
            new_items = [target.get(p.item.id, p.item) for p in current]
            errors = check(new_items)
            if errors:
                raise ContentRefused(422, "; ".join(errors[:5]))
            version = await bump_in(conn, CONTENT, now)
            history = []
            for position, item in enumerate(new_items):
                if item.id not in changed:
                    continue
                await conn.execute(
                    update(ContentItem)
                    .where(ContentItem.id == item.id)
                    .values(data=item.data, version=version, updated_at=now, updated_by=author)
                )
                history.append(self._history_row(item, position, version, "rollback", author, None, now))
            await self._add_history(conn, history)
            return version, changed
