"""The weekly report: read the book, build the snapshot once, render HTML and Excel from
templates/ for the team and, on request, for each rep."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnel_sync.config import Config
from funnel_sync.gcpause import gc_paused
from funnel_sync.model import Rep
from funnel_sync.read import reading
from funnel_sync.schema import POOL_LOG, STAGE_LOG

if TYPE_CHECKING:
    from funnel_sync.funnel import Snapshot

#: The templates shipped with funnel_sync (a checkout's templates/ folder).
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HTML_TEMPLATE = "report.html.j2"
XLSX_TEMPLATE = "report.xlsx"

Progress = Callable[[str], None]
LOG_SHEETS = frozenset({STAGE_LOG.key, POOL_LOG.key})


class ReportError(Exception):
    """The report cannot be made (unknown rep, missing or broken template): a clear message."""


# The words of the report, per language; templates reach them as {{ t.funnel }}.
LABELS: dict[str, tuple[str, str]] = {
    "title": ("销售漏斗周报", "Weekly funnel report"),
    "period": ("周期", "Period"),
    "generated": ("报告日期", "Report date"),
    "scope_team": ("全团队", "Whole team"),
    "scope_rep": ("个人报告", "Rep report"),
    "kpis": ("本周概览", "This week"),
    "open_opps": ("在途机会", "Open opportunities"),
    "open_amount": ("在途金额", "Open amount"),
    "weighted": ("加权管道", "Weighted pipeline"),
    "won_ytd": ("本年成交", "Won this year"),
    "quota": ("年度定额", "Annual quota"),
    "coverage": ("定额覆盖率", "Quota coverage"),
    "coverage_target": ("阶段目标", "Phase target"),
    "remaining": ("剩余定额", "Quota left"),
    "funnel": ("销售漏斗", "The funnel"),
    "layer": ("层级", "Layer"),
    "count": ("数量", "Count"),
    "amount": ("金额", "Amount"),
    "alerts": ("漏斗预警: 薄弱层级", "Thin-layer alerts"),
    "no_alerts": ("没有薄弱层级。", "No thin layers."),
    "needed": ("按剩余定额推算各层所需数量", "Layer sizes the remaining quota needs"),
    "needed_note": (
        "到年底还需成交 {money}, 约 {deals} 单 (平均成交额 {avg}, 转化率来自{source})",
        "to close {money} by year end: about {deals} deals (average deal {avg}, "
        "conversion rates of {source})",
    ),
    "source_own": ("本人近期数据", "the rep's own history"),
    "source_team": ("团队数据 (个人记录不足)", "the team (too little own history)"),
    "action": ("行动", "Action"),
    "rep": ("销售", "Rep"),
    "reps": ("销售人员", "Reps"),
    "region": ("区域", "Region"),
    "regions": ("各区域", "Regions"),
    "phase": ("阶段", "Phase"),
    "scorecard": ("成功路线图记分卡", "Roadmap scorecard"),
    "standard": ("项目", "Item"),
    "target": ("目标", "Target"),
    "actual": ("实际", "Actual"),
    "met": ("达成", "Met"),
    "yes": ("✓ 达成", "✓ met"),
    "no": ("✗ 未达成", "✗ not met"),
    "flow": ("本周流动 (与上周对比)", "Flow this week (vs last week)"),
    "entered": ("进入", "Entered"),
    "advanced": ("晋级", "Advanced"),
    "fell_back": ("退回", "Fell back"),
    "lost": ("丢单", "Lost"),
    "conversion": ("阶段转化率 (近 {days} 天)", "Stage conversion (last {days} days)"),
    "rate": ("转化率", "Rate"),
    "days": ("各阶段停留天数 vs 计划", "Days in stage vs plan"),
    "plan_days": ("计划天数", "Plan (days)"),
    "avg_current": ("当前平均", "Now, average"),
    "avg_done": ("已完成平均", "Completed, average"),
    "stalled": ("停滞的机会", "Stalled opportunities"),
    "plan": ("计划进阶日 vs 实际", "Planned advance dates vs actual"),
    "with_plan": ("有计划", "With a plan"),
    "past_due": ("已过期", "Past due"),
    "due_next_week": ("下周到期", "Due next week"),
    "no_plan": ("无计划", "No plan"),
    "avg_days_late": ("平均延迟天数", "Average days late"),
    "trend": ("近 8 周趋势", "Last 8 weeks"),
    "week": ("周", "Week"),
    "new": ("新增", "New"),
    "won": ("成交", "Won"),
    "won_amount": ("成交金额", "Won amount"),
    "overdue": ("逾期跟进", "Overdue follow-ups"),
    "overdue_days": ("逾期天数", "Days overdue"),
    "last_contact": ("最近联系", "Last contact"),
    "due": ("应联系日", "Due"),
    "important_days": ("下周重要日子", "Important days next week"),
    "holidays": ("公共假日", "Public holidays"),
    "date": ("日期", "Date"),
    "what": ("事项", "What"),
    "customer": ("客户", "Customer"),
    "contact": ("联系人", "Contact"),
    "phone": ("电话", "Phone"),
    "opportunity": ("机会", "Opportunity"),
    "class": ("分类", "Class"),
    "entered_on": ("进入日期", "Entered"),
    "days_in_stage": ("天数", "Days"),
    "planned": ("计划进阶日", "Planned advance"),
    "reason": ("原因", "Reason"),
    "pool": ("资源库动态与被拒的变更", "Pool activity and rejected moves"),
    "claims": ("领取", "Claims"),
    "releases": ("释放", "Releases"),
    "recycles": ("自动回收", "Recycles"),
    "claims_rejected": ("领取被拒", "Claims rejected"),
    "transfers": ("转移", "Transfers"),
    "rejected_moves": ("被拒的阶段变更", "Rejected stage moves"),
    "from": ("原分类", "From"),
    "to": ("新分类", "To"),
    "none": ("无", "None"),
    "more": (
        "另有 {n} 条未列出 (共 {total} 条, 见 Excel 报告)",
        "{n} more not shown ({total} in all: see the Excel report)",
    ),
    "alerts_n": ("预警", "Alerts"),
    "footer": (
        "由 funnel_sync 根据工作簿生成; 每个数字都可追溯到工作簿中的行。",
        "Made by funnel_sync from the workbook; every figure traces back to its rows.",
    ),
}


def labels(lang: str) -> dict[str, str]:
    return {k: (zh if lang == "zh" else en) for k, (zh, en) in LABELS.items()}


@dataclass
class ReportResult:
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    reps: tuple[Rep, ...] = ()  # the Reps sheet as read, for the mail's addresses


def week_stem(snapshot: Snapshot, rep: str | None = None) -> str:
    stem = f"funnel-report-{snapshot.period.label}"
    if rep is not None:
        safe = re.sub(r'[\\/:*?"<>|\s\x00-\x1f]+', "_", rep).strip("._") or "rep"
        stem += f"-{safe}"
    return stem


@gc_paused()  # millions of long-lived objects: see gcpause.py
def make_report(
    path: Path,
    cfg: Config,
    today: dt.date,
    out_dir: Path,
    *,
    lang: str | None = None,
    reps: Sequence[str] = (),
    per_rep: bool = False,
    team: bool = True,
    templates: Path | None = None,
    progress: Progress | None = None,
    with_json: bool = False,
) -> ReportResult:
    """Read the workbook at `path` and write DIR/funnel-report-YYYY-Www.html and .xlsx (and
    one pair per rep asked for); `with_json`: a .json of the same figures beside each.
    Raises read.WorkbookError, ReportError, OSError."""

    lang = lang or cfg.lang
    if lang != cfg.lang:
        cfg = dataclasses.replace(cfg, general=dataclasses.replace(cfg.general, language=lang))
    folder = templates or TEMPLATES
    result = ReportResult()

    def step(name: str) -> float:
        if progress:
            progress(name)
        return time.perf_counter()

    start = step("read")
    # not Today: the report never uses it; pandas is imported while the activities load,
    # and the ledger's frames are built while the logs load
    with reading(path, cfg, engine_sheets=LOG_SHEETS, idle=_import_renderers) as sheets:
        from funnel_sync.funnel import build_snapshot, ledger_frames

        ledger = ledger_frames(sheets.ledger())
        book = sheets.book()
    result.timings["read"] = time.perf_counter() - start

    result.reps = book.reps
    start = step("aggregate")
    snapshot = build_snapshot(book, cfg, today, lang=lang, ledger=ledger)
    result.snapshot = snapshot
    result.timings["aggregate"] = time.perf_counter() - start
    known = [r.name for r in snapshot.reps]
    for name in reps:
        if name not in known:
            raise ReportError(
                f"--rep {name!r}: "
                + ("不在「销售团队」中" if lang == "zh" else "not a rep of the Reps sheet")
                + (f" ({', '.join(known[:10])}…)" if known else "")
            )
    targets: list[str | None] = [None] if team else []
    targets += list(dict.fromkeys([*reps, *(known if per_rep else [])]))
    out_dir.mkdir(parents=True, exist_ok=True)
    start = step("render")
    from funnel_sync.report.data import write_json
    from funnel_sync.report.excel import render_excel
    from funnel_sync.report.html import render_html

    template_xlsx = folder / XLSX_TEMPLATE
    for rep in targets:
        context = snapshot.context(rep)
        stem = week_stem(snapshot, rep)
        html_path = out_dir / f"{stem}.html"
        # the HTML is the e-mail body: shorter lists keep it under Gmail's ~100 KB clipping
        html_context = {**context, "html_rows": cfg.report.html_rows}
        html_path.write_text(render_html(html_context, folder), encoding="utf-8")
        result.files.append(html_path)
        xlsx_path = out_dir / f"{stem}.xlsx"
        render_excel(template_xlsx, xlsx_path, context)
        result.files.append(xlsx_path)
        if with_json:
            json_path = out_dir / f"{stem}.json"
            write_json(context, json_path)
            result.files.append(json_path)
    result.timings["render"] = time.perf_counter() - start
    return result


def _import_renderers() -> None:
    """What aggregating and rendering need (pandas, jinja2, openpyxl): a third of a second of
    imports, done while the sheets are still loading."""
    import funnel_sync.funnel
    import funnel_sync.report.excel
    import funnel_sync.report.html  # noqa: F401


def jinja_globals(context: Mapping[str, Any]) -> dict[str, Any]:
    """What every template sees besides the snapshot: the labels of its language."""
    return {**context, "t": labels(str(context.get("lang", "zh")))}
