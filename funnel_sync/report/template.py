"""Builds templates/report.xlsx, the Excel template of the weekly report (run it again after
changing this file: `python -m funnel_sync.report.template templates/report.xlsx`).

The template is an ordinary workbook a manager may restyle in Excel: the renderer only looks
for Jinja in cell text (see funnel_sync/report/excel.py and README "The weekly report"). This
builder is one way to make it, with openpyxl; the renderer never depends on how it was made.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import openpyxl
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

AMOUNT, COUNT, PCT, DATE, DEC = "#,##0", "0", "0.0%", "yyyy-mm-dd", "0.0"
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
TITLE_FONT = Font(bold=True, size=16, color="1F3A5F")
BOLD = Font(bold=True)

#: The list sheets: name, the list, the loop variable, and per column (header, cell, format).
Column = tuple[str, str, str | None]
LIST_SHEETS: tuple[tuple[str, str, str, Sequence[Column]], ...] = (
    (
        "销售 Reps",
        "reps",
        "r",
        (
            ("{{ t.rep }}", "{{ r.name }}", None),
            ("{{ t.phase }}", "{{ r.phase_label }}", None),
            ("{{ t.region }}", "{{ r.regions }}", None),
            ("D", "{{ r.funnel.D.count }}", COUNT),
            ("C", "{{ r.funnel.C.count }}", COUNT),
            ("B", "{{ r.funnel.B.count }}", COUNT),
            ("A", "{{ r.funnel.A.count }}", COUNT),
            ("{{ t.won }}", "{{ r.funnel.won.count }}", COUNT),
            ("{{ t.weighted }}", "{{ r.pipeline.weighted }}", AMOUNT),
            ("{{ t.quota }}", "{{ r.pipeline.quota }}", AMOUNT),
            ("{{ t.won_ytd }}", "{{ r.won_ytd }}", AMOUNT),
            ("{{ t.coverage }}", "{{ r.pipeline.coverage }}", PCT),
            ("{{ t.coverage_target }}", "{{ r.pipeline.target_pct }}", '0"%"'),
            ("{{ t.met }}", "{{ r.scorecard.met }}", COUNT),
            ("{{ t.scorecard }}", "{{ r.scorecard.total }}", COUNT),
            ("{{ t.alerts_n }}", "{{ r.alerts | length }}", COUNT),
        ),
    ),
    (
        "区域 Regions",
        "regions",
        "g",
        (
            ("{{ t.region }}", "{{ g.name }}", None),
            ("{{ team.funnel.pool.label }}", "{{ g.funnel.pool.count }}", COUNT),
            ("D", "{{ g.funnel.D.count }}", COUNT),
            ("C", "{{ g.funnel.C.count }}", COUNT),
            ("B", "{{ g.funnel.B.count }}", COUNT),
            ("A", "{{ g.funnel.A.count }}", COUNT),
            ("{{ t.won }}", "{{ g.funnel.won.count }}", COUNT),
            ("{{ t.open_amount }}", "{{ g.open.amount }}", AMOUNT),
            ("{{ t.weighted }}", "{{ g.pipeline.weighted }}", AMOUNT),
            ("{{ t.won_ytd }}", "{{ g.won_ytd }}", AMOUNT),
            ("{{ t.alerts_n }}", "{{ g.alerts | length }}", COUNT),
        ),
    ),
    (
        "预警 Alerts",
        "alerts",
        "a",
        (
            ("{{ t.rep }}", "{{ a.rep }}", None),
            ("{{ t.layer }}", "{{ a.layer }}", None),
            ("{{ t.what }}", "{{ a.kind_label }}", None),
            ("{{ t.count }}", "{{ a.count }}", COUNT),
            ("{{ t.target }}", "{{ a.target }}", COUNT),
            ("{{ t.alerts_n }}", "{{ a.message }}", None),
            ("{{ t.action }}", "{{ a.action }}", None),
        ),
    ),
    (
        "记分卡 Scorecard",
        "scorecard",
        "i",
        (
            ("{{ t.rep }}", "{{ i.rep }}", None),
            ("{{ t.phase }}", "{{ i.phase_label }}", None),
            ("{{ t.what }}", "{{ i.kind_label }}", None),
            ("{{ t.standard }}", "{{ i.label }}", None),
            ("{{ t.target }}", "{{ i.target }}", DEC),
            ("{{ t.actual }}", "{{ i.actual }}", DEC),
            ("{{ t.met }}", "{{ t.yes if i.met else t.no }}", None),
        ),
    ),
    (
        "停滞 Stalled",
        "stalled",
        "s",
        (
            ("{{ t.opportunity }}", "{{ s.opportunity_id }}", None),
            ("{{ t.customer }}", "{{ s.customer }}", None),
            ("{{ t.rep }}", "{{ s.rep }}", None),
            ("{{ t.class }}", "{{ s.code }}", None),
            ("{{ t.amount }}", "{{ s.amount }}", AMOUNT),
            ("{{ t.entered_on }}", "{{ s.entered }}", DATE),
            ("{{ t.days_in_stage }}", "{{ s.age }}", COUNT),
            ("{{ t.plan_days }}", "{{ s.target }}", COUNT),
            ("{{ t.planned }}", "{{ s.planned }}", DATE),
            ("{{ t.reason }}", "{{ s.why }}", None),
        ),
    ),
    (
        "逾期 Overdue",
        "overdue",
        "o",
        (
            ("{{ t.opportunity }}", "{{ o.opportunity_id }}", None),
            ("{{ t.customer }}", "{{ o.customer }}", None),
            ("{{ t.contact }}", "{{ o.contact }}", None),
            ("{{ t.phone }}", "{{ o.phone }}", None),
            ("{{ t.rep }}", "{{ o.rep }}", None),
            ("{{ t.class }}", "{{ o.code }}", None),
            ("{{ t.last_contact }}", "{{ o.last_contact }}", DATE),
            ("{{ t.due }}", "{{ o.due }}", DATE),
            ("{{ t.overdue_days }}", "{{ o.overdue }}", COUNT),
        ),
    ),
    (
        "重要日子 Days",
        "important_days",
        "e",
        (
            ("{{ t.date }}", "{{ e.date }}", DATE),
            ("{{ t.what }}", "{{ e.what }}", None),
            ("{{ t.customer }}", "{{ e.name }}", None),
            ("{{ t.phone }}", "{{ e.phone }}", None),
            ("{{ t.rep }}", "{{ e.rep }}", None),
        ),
    ),
    (
        "资源库 Pool",
        "pool_activity",
        "p",
        (
            ("{{ t.date }}", "{{ p.date }}", DATE),
            ("{{ t.what }}", "{{ p.action_label }}", None),
            ("{{ t.customer }}", "{{ p.customer }}", None),
            ("{{ t.rep }}", "{{ p.rep }}", None),
            ("{{ t.reason }}", "{{ p.reason }}", None),
        ),
    ),
    (
        "被拒变更 Rejected",
        "rejected_moves",
        "m",
        (
            ("{{ t.date }}", "{{ m.date }}", DATE),
            ("{{ t.opportunity }}", "{{ m.opportunity_id }}", None),
            ("{{ t.rep }}", "{{ m.rep }}", None),
            ("{{ t.from }}", "{{ m.from_code }}", None),
            ("{{ t.to }}", "{{ m.to_code }}", None),
            ("{{ t.reason }}", "{{ m.reason }}", None),
        ),
    ),
)

#: Counts shown above a list sheet's rows (header, cell): the pool sheet counts the week's
#: claims and releases as the HTML does, though its rows list only what needs a look.
SHEET_COUNTS: dict[str, Sequence[tuple[str, str]]] = {
    "资源库 Pool": (
        ("{{ t.claims }}", "{{ team.pool_activity.claims }}"),
        ("{{ t.releases }}", "{{ team.pool_activity.releases }}"),
        ("{{ t.recycles }}", "{{ team.pool_activity.recycles }}"),
        ("{{ t.claims_rejected }}", "{{ team.pool_activity.claims_rejected }}"),
        ("{{ t.transfers }}", "{{ team.pool_activity.transfers }}"),
        ("{{ t.rejected_moves }}", "{{ team.rejected_moves.total }}"),
    ),
}

README_LINES = (
    "说明 / README — 周报 Excel 模板的约定 (conventions of the report template)",
    "",
    "1. 单元格中含 {{ … }} 的文字是 Jinja 表达式, 渲染时替换为周报数据。",
    "   A cell whose text holds {{ … }} is a Jinja expression filled with the report's data.",
    "   单元格内容恰好是一个 {{ 表达式 }} 时写入数字或日期 (保留单元格的数字格式);",
    "   否则写入文字。A cell that is exactly one {{ expression }} gets the typed value",
    "   (number, date), so the cell's number format applies; any other text stays text.",
    "2. 行首 (任一单元格) 以 {%row 列表 as 名称%} 开头的行为重复行: 对列表中每一项各写一行,",
    "   第一项写在该行, 其余写在下面。该单元格其余部分是它自己的表达式,",
    "   例如 {%row reps as r%}{{ r.name }}。下面要写入的行必须是空的 (列表放在单独的工作表,",
    "   或放在工作表最后); 固定长度的列表 (漏斗 6 层, 流动 5 层, 转化 4 个, 趋势 8 周)",
    "   可以放在其它内容上方, 只要留够空行。",
    "   A row with a cell starting {%row LIST as NAME%} repeats for each item of LIST: the first",
    "   item fills the row itself, the others the rows below, which must be empty. The rest of",
    "   that cell is its own expression, e.g. {%row reps as r%}{{ r.name }}.",
    "3. 图表引用固定区域: 漏斗 = 概览 Summary 的 6 行, 趋势 = 最近 8 周。",
    "   Charts point at fixed ranges: the funnel's 6 rows and the trend's 8 weeks.",
    "4. 你可以改样式、列宽、加徽标、图表和引用已填单元格的公式: 渲染只写含 Jinja 的单元格。",
    "   Restyle freely, add logos, charts and formulas over the filled cells: rendering writes",
    "   only the cells holding Jinja (and the rows a list fills), nothing else.",
    "5. 以 =, +, -, @, 制表符或回车开头的文字一律作为文字写入, 不会成为公式。",
    "   Text starting with =, +, -, @, tab or CR is written as text, never as a formula.",
    "6. 名称以「说明」或 README 开头的工作表不渲染 (就是本页)。",
    "   Sheets whose name starts with 说明 or README are not rendered (this one).",
    "",
    "数据 (Jinja context): team (本报告范围: 全团队, 或个人报告中的该销售), regions, reps,",
    "alerts, scorecard, stalled, overdue, important_days, holidays, pool_activity,",
    "rejected_moves, period, today, currency, lang, t (本语言的文字)。详见 README.md。",
    "Context: team (the report's scope), regions, reps, alerts, scorecard, stalled, overdue,",
    "important_days, holidays, pool_activity, rejected_moves, period, today, currency, lang,",
    "t (the labels of the report's language). See README.md, 'The weekly report'.",
)


def _header(ws: Worksheet, row: int, texts: Sequence[str], col: int = 1) -> None:
    for i, text in enumerate(texts):
        cell = ws.cell(row, col + i, text)
        cell.font = BOLD
        cell.fill = HEADER_FILL


def _row(ws: Worksheet, row: int, cells: Sequence[tuple[str, str | None]], col: int = 1) -> None:
    for i, (text, fmt) in enumerate(cells):
        cell = ws.cell(row, col + i, text)
        if fmt:
            cell.number_format = fmt


def _summary(ws: Worksheet) -> None:
    ws["A1"] = "{{ t.title }} {{ period.label }}"
    ws["A1"].font = TITLE_FONT
    ws["A2"] = "{{ team.name }} · {{ t.period }} {{ period.start }} – {{ period.end }}"
    ws.freeze_panes = "A4"
    # the funnel: 6 fixed rows (rows 5-10); the funnel chart points at them
    _header(ws, 4, ("{{ t.layer }}", "{{ t.count }}", "{{ t.amount }}", "{{ t.weighted }}"))
    for r, key in enumerate(("pool", "D", "C", "B", "A", "won"), 5):
        _row(
            ws,
            r,
            (
                (f"{{{{ team.funnel.{key}.label }}}}", None),
                (f"{{{{ team.funnel.{key}.count }}}}", COUNT),
                (f"{{{{ team.funnel.{key}.amount }}}}", AMOUNT),
                (f"{{{{ team.funnel.{key}.weighted }}}}", AMOUNT),
            ),
        )
    # key figures
    _header(ws, 12, ("{{ t.kpis }}", ""))
    for r, (label, expr, fmt) in enumerate(
        (
            ("{{ t.open_opps }}", "{{ team.open.count }}", COUNT),
            ("{{ t.open_amount }}", "{{ team.open.amount }}", AMOUNT),
            ("{{ t.weighted }}", "{{ team.pipeline.weighted }}", AMOUNT),
            ("{{ t.quota }}", "{{ team.pipeline.quota }}", AMOUNT),
            ("{{ t.won_ytd }}", "{{ team.won_ytd }}", AMOUNT),
            ("{{ t.coverage }}", "{{ team.pipeline.coverage }}", PCT),
        ),
        13,
    ):
        _row(ws, r, ((label, None), (expr, fmt)))
    # flow this week: 5 rows (21-25)
    _header(
        ws,
        20,
        (
            "{{ t.flow }}",
            "{{ t.entered }}",
            "{{ t.advanced }}",
            "{{ t.fell_back }}",
            "{{ t.lost }}",
        ),
    )
    _row(
        ws,
        21,
        (
            ("{%row team.flow as f%}{{ f.label }}", None),
            ("{{ f.entered }}", COUNT),
            ("{{ f.advanced }}", COUNT),
            ("{{ f.fell_back }}", COUNT),
            ("{{ f.lost }}", COUNT),
        ),
    )
    # conversion: 4 rows (28-31)
    _header(
        ws,
        27,
        ("{{ t.conversion.format(days=trailing_days) }}", "{{ t.rate }}", "{{ t.advanced }}"),
    )
    ws.cell(27, 4, "{{ t.lost }}").font = BOLD
    ws.cell(27, 4).fill = HEADER_FILL
    _row(
        ws,
        28,
        (
            ("{%row team.conversion as c%}{{ c.from }} → {{ c.to }}", None),
            ("{{ c.rate }}", PCT),
            ("{{ c.advanced }}", COUNT),
            ("{{ c.lost }}", COUNT),
        ),
    )
    # days in stage: 4 rows (34-37)
    _header(
        ws,
        33,
        (
            "{{ t.days }}",
            "{{ t.plan_days }}",
            "{{ t.avg_current }}",
            "{{ t.avg_done }}",
            "{{ t.stalled }}",
        ),
    )
    _row(
        ws,
        34,
        (
            ("{%row team.days as d%}{{ d.label }}", None),
            ("{{ d.target }}", COUNT),
            ("{{ d.avg_current }}", DEC),
            ("{{ d.avg_done }}", DEC),
            ("{{ d.stalled }}", COUNT),
        ),
    )
    # trend: 8 weeks (41-48); the trend chart points at them
    _header(
        ws,
        40,
        ("{{ t.week }}", "{{ t.new }}", "{{ t.advanced }}", "{{ t.won }}", "{{ t.won_amount }}"),
    )
    _row(
        ws,
        41,
        (
            ("{%row team.trend as w%}{{ w.label }}", None),
            ("{{ w.new }}", COUNT),
            ("{{ w.advanced }}", COUNT),
            ("{{ w.won }}", COUNT),
            ("{{ w.won_amount }}", AMOUNT),
        ),
    )
    for col, width in zip("ABCDE", (26, 12, 16, 16, 16), strict=True):
        ws.column_dimensions[col].width = width

    funnel = BarChart()
    funnel.type = "bar"
    funnel.style = 10
    funnel.title = "Funnel"
    funnel.legend = None
    funnel.add_data(Reference(ws, min_col=2, min_row=4, max_row=10), titles_from_data=True)
    funnel.set_categories(Reference(ws, min_col=1, min_row=5, max_row=10))
    funnel.y_axis.scaling.orientation = "minMax"
    funnel.x_axis.scaling.orientation = "maxMin"  # the top layer on top
    funnel.x_axis.delete = False
    funnel.y_axis.delete = False
    funnel.height, funnel.width = 7.5, 13
    ws.add_chart(funnel, "G4")

    trend = LineChart()
    trend.title = "Trend"
    trend.style = 12
    trend.add_data(
        Reference(ws, min_col=2, max_col=4, min_row=40, max_row=48), titles_from_data=True
    )
    trend.set_categories(Reference(ws, min_col=1, min_row=41, max_row=48))
    trend.x_axis.delete = False
    trend.y_axis.delete = False
    trend.height, trend.width = 7.5, 13
    ws.add_chart(trend, "G21")


def build_template(path: Path) -> Path:
    """Write the report's Excel template to `path` (overwriting it)."""
    wb = openpyxl.Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "概览 Summary"
    _summary(summary)
    for title, items, var, columns in LIST_SHEETS:
        ws = wb.create_sheet(title)
        top = 1  # the list's header row: below the sheet's counts, if any
        counts = SHEET_COUNTS.get(title, ())
        if counts:
            _header(ws, 1, [h for h, _ in counts])
            _row(ws, 2, [(cell, COUNT) for _, cell in counts])
            top = 4
        _header(ws, top, [h for h, _, _ in columns])
        cells = [(cell, fmt) for _, cell, fmt in columns]
        cells[0] = (f"{{%row {items} as {var}%}}{cells[0][0]}", cells[0][1])
        _row(ws, top + 1, cells)
        ws.freeze_panes = f"A{top + 1}"
        for i, (header, cell, _) in enumerate(columns, 1):
            wide = any(w in cell for w in ("message", "action", "label", "customer", "reason"))
            width = 36 if wide else 12 if len(header) < 20 else 16
            ws.column_dimensions[get_column_letter(i)].width = width
    readme = wb.create_sheet("说明 README")
    for r, line in enumerate(README_LINES, 1):
        readme.cell(r, 1, line).alignment = Alignment(wrap_text=False)
    readme["A1"].font = BOLD
    readme.column_dimensions["A"].width = 110
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


if __name__ == "__main__":  # pragma: no cover
    build_template(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("templates/report.xlsx"))
