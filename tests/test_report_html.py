"""The rendered report: HTML (escaping, languages, self-contained, Chromium) and Excel (the
template filled losslessly, charts kept, text never a formula)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from helpers import run_cli
from test_report import FORMULA, SCRIPT, TODAY, make_book

from funnel_sync.config import Config
from funnel_sync.report import TEMPLATES, ReportError, make_report
from funnel_sync.report.excel import render_excel
from funnel_sync.report.template import build_template

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_book(tmp_path_factory.mktemp("html") / "ledger.xlsx")


@pytest.fixture(scope="module")
def reports(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    code, stdout, stderr = run_cli(
        "report", str(book), "--out", str(out), "--today", TODAY.isoformat(), "--rep", "李四"
    )
    assert code == 0, stderr
    assert stdout.split() == [
        str(out / "funnel-report-2026-W48.html"),
        str(out / "funnel-report-2026-W48.xlsx"),
        str(out / "funnel-report-2026-W48-李四.html"),
        str(out / "funnel-report-2026-W48-李四.xlsx"),
    ]
    return out


def test_html_is_self_contained_and_escaped(reports: Path) -> None:
    page = (reports / "funnel-report-2026-W48.html").read_text(encoding="utf-8")
    assert "销售漏斗周报 2026-W48" in page
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in page
    lowered = page.lower()
    for banned in ("<script", "src=", "<link", "url(", "@import", "javascript:"):
        assert banned not in lowered, banned
    # thin-layer alerts and their action, the needed sizes and the scorecard
    assert "A 层及以上 只有 0 个, 目标 ≥ 4 (赢得认可): 补充" in page
    assert "推进 B 层" in page
    assert "成功路线图记分卡" in page


def test_rep_report_holds_only_that_rep(reports: Path) -> None:
    page = (reports / "funnel-report-2026-W48-李四.html").read_text(encoding="utf-8")
    assert "李四" in page and "张三" not in page
    assert "按剩余定额推算各层所需数量" in page
    assert "到年底还需成交 ¥800,000, 约 2 单" in page


def test_english_report(book: Path, tmp_path: Path) -> None:
    code, _, stderr = run_cli(
        "report", str(book), "--out", str(tmp_path), "--today", "2026-11-30", "--lang", "en"
    )
    assert code == 0, stderr
    page = (tmp_path / "funnel-report-2026-W48.html").read_text(encoding="utf-8")
    assert "Weekly funnel report 2026-W48" in page and "Thin-layer alerts" in page
    assert "销售漏斗周报" not in page and "成功路线图" not in page
    wb = openpyxl.load_workbook(tmp_path / "funnel-report-2026-W48.xlsx")
    assert wb["概览 Summary"]["A5"].value == "Pool reserve"


def test_unknown_rep_is_a_usage_error(book: Path, tmp_path: Path) -> None:
    code, _, stderr = run_cli("report", str(book), "--out", str(tmp_path), "--rep", "无名")
    assert code == 2 and "无名" in stderr and "Traceback" not in stderr


def test_per_rep_writes_every_rep(book: Path, tmp_path: Path) -> None:
    result = make_report(book, Config(), TODAY, tmp_path, per_rep=True)
    names = sorted(p.name for p in result.files)
    assert names == sorted(
        f"funnel-report-2026-W48{s}.{e}" for s in ("", "-张三", "-李四") for e in ("html", "xlsx")
    )


def test_excel_report_values_charts_and_text(reports: Path) -> None:
    path = reports / "funnel-report-2026-W48.xlsx"
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml"} <= set(names)
    wb = openpyxl.load_workbook(path)
    ws = wb["概览 Summary"]
    assert ws["A1"].value == "销售漏斗周报 2026-W48"
    funnel = [(ws.cell(r, 1).value, ws.cell(r, 2).value, ws.cell(r, 3).value) for r in range(5, 11)]
    assert funnel == [
        ("储备客户", 2, None),
        ("D 识别", 2, 150_000),
        ("C 目标", 2, 320_000),
        ("B 重点跟进", 2, 380_000),
        ("A 订单跟进", 1, 400_000),
        ("成交", 1, 500_000),
    ]
    assert ws["C6"].number_format == "#,##0" and ws.freeze_panes == "A4"
    assert [ws.cell(r, 2).value for r in range(28, 32)] == [2 / 3, 0.5, 1, 1]
    assert ws["B28"].number_format == "0.0%"
    assert [ws.cell(r, 1).value for r in range(41, 49)][-1] == "W48"
    assert len(ws._charts) == 2
    reps = wb["销售 Reps"]
    assert [reps.cell(r, 1).value for r in (2, 3, 4)] == ["张三", "李四", None]
    assert reps.freeze_panes == "A2"
    overdue = wb["逾期 Overdue"]
    cell = overdue["B2"]
    assert (overdue["A2"].value, cell.value, cell.data_type) == ("O4", FORMULA, "s")
    assert overdue["G2"].is_date and overdue["G2"].value is None  # no contact yet
    assert overdue["H2"].value == dt.datetime(2026, 11, 29) and overdue["H2"].is_date
    stalled = wb["停滞 Stalled"]
    assert stalled["B2"].value == SCRIPT and stalled["B2"].data_type == "s"
    alerts = wb["预警 Alerts"]
    assert alerts.max_row == 12  # header + 11 alerts
    # the pool sheet counts the week as the HTML does (claims and releases too), then lists
    pool = wb["资源库 Pool"]
    counts = [(pool.cell(1, c).value, pool.cell(2, c).value) for c in range(1, 7)]
    assert counts == [
        ("领取", 1),
        ("释放", 0),
        ("自动回收", 1),
        ("领取被拒", 1),
        ("转移", 0),
        ("被拒的阶段变更", 1),
    ]
    assert [pool.cell(r, 3).value for r in (4, 5, 6, 7)] == ["客户", "丙公司", "丁公司", None]
    assert pool.freeze_panes == "A5"
    assert wb["说明 README"]["A3"].value.startswith("1. 单元格中含 {{ … }}")


def _template_with(tmp_path: Path, change: object) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    wb = openpyxl.load_workbook(folder / "report.xlsx")
    change(wb)  # type: ignore[operator]
    wb.save(folder / "report.xlsx")
    return folder


def test_restyled_template_survives_rendering(book: Path, tmp_path: Path) -> None:
    fill = openpyxl.styles.PatternFill("solid", fgColor="FFCC00")

    def restyle(wb: openpyxl.Workbook) -> None:
        ws = wb["概览 Summary"]
        ws["F6"] = "=SUM(B6:B10)"  # the manager's formula over filled cells
        ws["B6"].fill = fill
        mine = wb.create_sheet("Mine")
        mine["A1"] = "week {{ period.label }}"
        mine["B1"] = "{{ team.funnel.A.count }}"
        mine["C1"] = "static"
        mine["A3"] = "{%row reps as r%}{{ r.name }}"
        mine["B3"] = "{{ r.funnel.D.count * 10 }}"
        mine["C3"] = "¥"

    folder = _template_with(tmp_path, restyle)
    make_report(book, Config(), TODAY, tmp_path / "out", templates=folder)
    wb = openpyxl.load_workbook(tmp_path / "out" / "funnel-report-2026-W48.xlsx")
    ws = wb["概览 Summary"]
    assert ws["F6"].value == "=SUM(B6:B10)"
    assert ws["B6"].fill.fgColor.rgb == "00FFCC00" and ws["B6"].value == 2
    mine = wb["Mine"]
    assert (mine["A1"].value, mine["B1"].value, mine["C1"].value) == ("week 2026-W48", 1, "static")
    rows = [tuple(c.value for c in row) for row in mine.iter_rows(min_row=3, max_row=4)]
    assert rows == [("张三", 10, "¥"), ("李四", 10, "¥")]


def test_a_list_may_not_overwrite_the_template(book: Path, tmp_path: Path) -> None:
    def crowd(wb: openpyxl.Workbook) -> None:
        ws = wb["销售 Reps"]
        ws["A3"] = "manager's note"

    folder = _template_with(tmp_path, crowd)
    with pytest.raises(ReportError, match="would overwrite row 3"):
        make_report(book, Config(), TODAY, tmp_path / "out", templates=folder)


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-5", "@SUM(A1)", "\tx", "\rx", FORMULA])
def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path, text: str) -> None:
    template = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = "{{ value }}"
    ws["A2"] = "name: {{ value }}"
    wb.save(template)
    render_excel(template, tmp_path / "out.xlsx", {"value": text, "lang": "zh"})
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert ws is not None
    assert (ws["A1"].value, ws["A1"].data_type) == (text, "s")
    assert ws["A2"].value == f"name: {text}" and ws["A2"].data_type == "s"


def test_build_template(tmp_path: Path) -> None:
    path = build_template(tmp_path / "report.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "概览 Summary" and wb.sheetnames[-1] == "说明 README"
    assert wb["概览 Summary"]["B8"].value == "{{ team.funnel.B.count }}"
    assert wb["销售 Reps"]["A2"].value == "{%row reps as r%}{{ r.name }}"
    assert len(wb["概览 Summary"]._charts) == 2


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_chromium_renders_the_page(reports: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    page = reports / "funnel-report-2026-W48.html"
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            "--window-size=420,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000


def test_the_demo_teams_mail_body_is_not_clipped_by_gmail(tmp_path: Path) -> None:
    """Gmail clips a message whose HTML exceeds ~102 KB: the team report of the demo team
    (8 reps) stays below, its long lists cut to report.html_rows with a pointer to the Excel."""
    book = tmp_path / "demo.xlsx"
    assert run_cli("demo", str(book), "--today", TODAY)[0] == 0
    assert run_cli("sync", str(book), "--today", TODAY)[0] == 1  # the planted mistakes
    code, _, err = run_cli("report", str(book), "--out", str(tmp_path / "out"), "--today", TODAY)
    assert code == 0, err
    html = next((tmp_path / "out").glob("*.html")).read_bytes()
    assert len(html) < 102 * 1024
    assert "见 Excel 报告".encode() in html  # the cut lists say where the rest is
