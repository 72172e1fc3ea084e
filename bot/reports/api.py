"""GET /api/console/reports (JSON or CSV) and its charts (SVG), for admins and editors; mediators get 403.

Every answer of /api/console/reports is an export (the page's view too) and is written to the audit log
with the period, grouping and format: who took which figures, never the figures themselves.
"""

from __future__ import annotations

from aiohttp import web

from bot.console.api import NO_STORE, ApiError, _ip, api
from bot.handoff.service import Handoff
from bot.reports.build import ReportError, build_report, csv_rows, parse_period, to_csv
from bot.reports.charts import CHARTS, draw
from bot.storage.console_repo import SessionRec
from bot.storage.reports_repo import ReportsRepo

REPORT_ROLES = ("admin", "editor")
FORMATS = ("json", "csv")


@api(roles=REPORT_ROLES)
async def report(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    fmt = request.query.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(400, "'format' must be json or csv")
    try:
        period = parse_period(request.query.get("from"), request.query.get("to"), request.query.get("group"))
    except ReportError as e:
        raise ApiError(400, str(e)) from None
    repo = ReportsRepo(h.store)
    detail = {"from": period.first, "to": period.last, "group": period.group, "format": fmt}
    name = f"sigurno-report-{period.first}-{period.last}-{period.group}"
    if fmt == "csv":
        body = to_csv(await csv_rows(repo, period))
        await h.repo.audit(session.user.name, "report_export", ip=_ip(request), detail=detail)
        return web.Response(
            text=body,
            content_type="text/csv",
            charset="utf-8",
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    data = await build_report(repo, period)
    await h.repo.audit(session.user.name, "report_export", ip=_ip(request), detail=detail)
    resp = web.json_response(data, headers=NO_STORE)
    if request.query.get("download") == "1":
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return resp


@api(roles=REPORT_ROLES)
async def chart(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in CHARTS:
        raise ApiError(404, f"no such chart; charts: {', '.join(CHARTS)}")
    try:
        period = parse_period(request.query.get("from"), request.query.get("to"), request.query.get("group"))
    except ReportError as e:
        raise ApiError(400, str(e)) from None
    data = await build_report(ReportsRepo(h.store), period)
    svg = await draw(name, data)
    return web.Response(body=svg, content_type="image/svg+xml", headers=NO_STORE)


def add_reports_api(app: web.Application) -> None:
    app.router.add_get("/api/console/reports", report)
    app.router.add_get(r"/api/console/reports/charts/{name:[a-z-]{1,32}}.svg", chart)
