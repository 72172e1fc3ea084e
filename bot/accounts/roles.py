"""Roles and what each may see: a mediator the queue and their own cases, an editor the content, reports
and review, an admin everything."""

from __future__ import annotations

from bot.storage.console_models import ROLES
from bot.storage.store import CaseRec

CASE_ROLES = ("mediator", "admin")  # may work on cases (an editor edits content only)
STAFF_ROLES = ("editor", "admin")  # may edit content, review what the bot did not understand, see reports


def can_work_cases(role: str) -> bool:
    return role in CASE_ROLES


def can_view_case(name: str, role: str, case: CaseRec) -> bool:
    """Admins see every case; a mediator sees queued cases and the cases assigned to them (open or past)."""
    if role == "admin":
        return True
    if role != "mediator":
        return False
    return case.status == "queued" or case.assignee == name


__all__ = ["CASE_ROLES", "ROLES", "STAFF_ROLES", "can_view_case", "can_work_cases"]
