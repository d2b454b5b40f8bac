"""`init --into` then `sync` on workbooks made by Excel and others: nothing of theirs is lost."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner
from helpers import CORPUS, TODAY
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table

from funnel_sync.cli import main
from funnel_sync.schema import SHEETS

# The parts a new sheet must touch: the sheet list, its relationship, its content type, and a
# style for the bold header / date cells.
MINIMAL = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
UNREADABLE = {  # refused with a clear message (exit 2), tested in test_corpus_read.py
    "pass_protected.xlsx",
    "protected_passtika.xlsx",
    "54764.xlsx",
    "calamine__issue252.xlsx",  # its own zip CRC is broken
    "closedxml__SheetsWithoutRelId.xlsx",
}
FILES = sorted(
    p
    for folder in (CORPUS, CORPUS / "excel-features")
    for p in folder.iterdir()
    if p.suffix in (".xlsx", ".xlsm") and not p.name.startswith("~$")
)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output + (result.stderr or "")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


@pytest.mark.parametrize("source", FILES, ids=[p.name for p in FILES])
def test_adopt_and_sync_keep_every_part(source: Path, tmp_path: Path) -> None:
    path = tmp_path / source.name
    shutil.copyfile(source, path)
    if source.name in UNREADABLE:
        code, out = cli("init", "--into", str(path))
        assert code == 2 and "Traceback" not in out, out
        assert path.read_bytes() == source.read_bytes()
        return
    before = parts(path)
    code, out = cli("init", "--into", str(path))
    assert code == 0, out
    code, out = cli("sync", str(path), "--today", TODAY)
    assert code in (0, 1), out
    after = parts(path)
    changed = {n for n in before if after.get(n) != before[n]}
    assert changed <= MINIMAL, changed
    assert set(after) >= set(before)
    names = python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names
    assert [s.zh for s in SHEETS if s.zh in names] == [s.zh for s in SHEETS]
    # adopted twice is adopted once
    assert cli("init", "--into", str(path))[0] == 0
    assert parts(path) == after


def _png() -> bytes:
    from PIL import Image as PILImage

    out = io.BytesIO()
    PILImage.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_demo_dashboard_survives_syncs(tmp_path: Path) -> None:
    """The team builds a dashboard into the demo ledger; a week of syncs keeps all of it."""
    path = tmp_path / "team.xlsx"
    assert cli("demo", str(path), "--today", TODAY)[0] == 0
    wb = openpyxl.load_workbook(path)
    dash = wb.create_sheet("看板")
    dash.append(["分类", "数量"])
    for code, n in (("D", 5), ("C", 4), ("B", 3), ("A", 2)):
        dash.append([code, n])
    chart = BarChart()
    chart.add_data(Reference(dash, min_col=2, min_row=1, max_row=5), titles_from_data=True)
    chart.set_categories(Reference(dash, min_col=1, min_row=2, max_row=5))
    dash.add_chart(chart, "D2")
    dash.add_image(Image(io.BytesIO(_png())), "D20")
    dash.add_table(Table(displayName="层级", ref="A1:B5"))
    opps = wb["销售机会"]
    opps.conditional_formatting.add(
        "E2:E300",
        CellIsRule(
            operator="greaterThan", formula=["500000"], fill=PatternFill("solid", fgColor="FFC7CE")
        ),
    )
    opps["Q2"].comment = Comment("经理: 这个客户要重点跟进", "王经理")
    wb.defined_names["大单"] = DefinedName("大单", attr_text="'销售机会'!$E$2:$E$300")
    dash["C7"] = "=SUM(B2:B5)"
    wb.save(path)
    before = parts(path)

    code, _ = cli("sync", str(path), "--today", TODAY)
    assert code == 1  # the demo's planted mistakes
    after = parts(path)
    edited = {n for n in before if after.get(n) != before[n]}
    # only the two ledger sheets with engine columns, the logs and the Today sheet change
    sheet_files = {n for n in edited if n.startswith("xl/worksheets/sheet")}
    assert edited - sheet_files <= MINIMAL | {"xl/sharedStrings.xml"}
    for name in (
        "xl/charts/chart1.xml",
        "xl/media/image1.png",
        "xl/tables/table1.xml",
        "xl/comments/comment1.xml",
        "xl/drawings/drawing1.xml",
    ):
        assert after[name] == before[name], name
    wb = openpyxl.load_workbook(path)
    assert wb["销售机会"].conditional_formatting  # still there
    assert "大单" in wb.defined_names
    assert wb["看板"]["C7"].value == "=SUM(B2:B5)"
    assert wb["销售机会"]["Q2"].comment.text == "经理: 这个客户要重点跟进"
    assert wb["销售机会"]["R2"].value in ("D", "C", "B", "A", "成交", "丢单")
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(path))
        .get_sheet_by_name("今日提醒")
        .to_python()
    )
    assert rows[0][0] == "销售" and len(rows) > 1
