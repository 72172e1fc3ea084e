"""`sigurno report --from YYYY-MM-DD --to YYYY-MM-DD [--group day|week|month] [--format csv|json]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.reports.build import GROUPS, ReportError, build_report, csv_rows, parse_period, to_csv
from bot.settings import Settings


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.console_repo import ConsoleRepo
    from bot.storage.reports_repo import ReportsRepo
    from bot.storage.store import Store
    from bot.wiring import secrets_for

    period = parse_period(args.date_from, args.date_to, args.group)
    user_secret, data_key = secrets_for(settings)
    store = await Store.open(settings.storage.database_url, user_secret, data_key, schema=settings.storage.schema)
    try:
        repo = ReportsRepo(store)
        if args.format == "csv":
            out = to_csv(await csv_rows(repo, period))
        else:
            out = json.dumps(await build_report(repo, period), ensure_ascii=False, indent=2) + "\n"
        detail = {"from": period.first, "to": period.last, "group": period.group, "format": args.format}
        await ConsoleRepo(store).audit("cli", "report_export", detail=detail)
    finally:
        await store.close()
    sys.stdout.write(out)
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return asyncio.run(_report(settings, args))
    except ReportError as e:
        print(f"sigurno report: {e}", file=sys.stderr)
        return 2


def register(sub: Any) -> None:
    """Add `report` to the CLI's subparsers."""
    rp = sub.add_parser(
        "report",
        help="figures for a period (people, topics, countries, job checks, cases); every count below 5 as <5",
    )
    rp.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first day (UTC)")
    rp.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last day (UTC), included")
    rp.add_argument("--group", choices=GROUPS, default="day", help="periods of the series (default: day)")
    rp.add_argument(
        "--format",
        choices=("json", "csv"),
        default="json",
        help="json: the report of GET /api/console/reports; csv: date,channel,metric,dimension,value",
    )
    rp.set_defaults(handler=cmd_report)
