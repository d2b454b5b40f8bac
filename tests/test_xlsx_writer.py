"""Behaviour of the lossless writer: no-ops, dry runs, refusals, styles, tables, odd XML."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from helpers import CORPUS
from openpyxl.styles import Font
from openpyxl.worksheet.table import Table

from funnel_sync.plan import CellWrite, ChangeSet, ListValidation, NewColumn, SheetContent
from funnel_sync.xlsx import (
    InvalidChange,
    SheetNotFound,
    WriteResult,
    apply_changes,
    fingerprint,
    plan_changes,
)

ALL = frozenset(range(1, 30))


def _ledger(path: Path) -> Path:
    """A small ledger: header row, shared strings, a date column, a formula, a styled column."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "销售机会"
    ws.append(["编号", "客户", "日期", "金额", "合计", "提醒"])
    for i in range(2, 5):
        ws.append([i, f"客户{i}", dt.date(2024, 3, i), 100 * i, f"=D{i}*2", None])
        ws.cell(i, 3).number_format = "yyyy-mm-dd"
        ws.cell(i, 4).number_format = "#,##0.00"
    ws.cell(1, 1).font = Font(bold=True)
    wb.save(path)
    return path


def _apply(path: Path, *cells: CellWrite, **kw: Any) -> WriteResult:
    changes = ChangeSet(cells=cells, engine_columns={"销售机会": ALL}, **kw)
    return apply_changes(path, changes, expected=fingerprint(path))


def _read(path: Path, sheet: str = "销售机会") -> list[list[Any]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def test_noop_write_leaves_file_untouched(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    same = (
        CellWrite("销售机会", 2, 2, "客户2"),  # shared string, same text
        CellWrite("销售机会", 2, 3, dt.date(2024, 3, 2)),  # date cell holding its serial
        CellWrite("销售机会", 2, 4, 200),  # number
        CellWrite("销售机会", 2, 6, None),  # empty stays empty
        CellWrite("销售机会", 50, 6, None),  # a missing row stays missing
    )
    result = _apply(path, *same)
    assert not result.written
    assert not result.changes
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime


def test_second_run_is_a_noop(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    cells = (
        CellWrite("销售机会", 2, 6, "跟进"),
        CellWrite("销售机会", 3, 6, dt.date(2024, 5, 1)),
        CellWrite("销售机会", 9, 7, dt.datetime(2024, 5, 1, 13, 30)),
        CellWrite("销售机会", 4, 6, True),
        CellWrite("销售机会", 4, 7, 3.25),
    )
    sheets = (SheetContent("今日提醒", ("a", "b"), (("x", dt.date(2024, 1, 1)),)),)
    first = _apply(path, *cells, sheets=sheets)
    assert first.written
    data = path.read_bytes()
    second = _apply(path, *cells, sheets=sheets)
    assert not second.written
    assert path.read_bytes() == data
    rows = _read(path)
    assert rows[1][5] == "跟进"
    assert rows[2][5] == dt.date(2024, 5, 1)
    assert rows[8][6] == dt.datetime(2024, 5, 1, 13, 30)
    assert rows[3][5] is True
    assert rows[3][6] == 3.25


def test_dry_run_never_writes(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    before = path.read_bytes()
    changes = ChangeSet(
        cells=(CellWrite("销售机会", 2, 6, "x"), CellWrite("销售机会", 2, 2, "新名字")),
        sheets=(SheetContent("日志", ("a",)),),
        engine_columns={"销售机会": ALL},
    )
    result = plan_changes(path, changes)
    assert not result.written
    assert {(c.row, c.column, c.old, c.new) for c in result.changes} == {
        (2, 6, None, "x"),
        (2, 2, "客户2", "新名字"),
    }
    assert result.sheets_created == ("日志",)
    assert path.read_bytes() == before


def test_refusals_are_values(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    changes = ChangeSet(
        cells=(
            CellWrite("销售机会", 2, 5, 1),  # formula cell
            CellWrite("销售机会", 2, 1, 99),  # not an engine column
            CellWrite("销售机会", 2, 6, "ok"),
        ),
        engine_columns={"销售机会": frozenset({5, 6})},
    )
    result = apply_changes(path, changes, expected=fingerprint(path))
    reasons = {(r.write.column, r.reason) for r in result.refused}
    assert reasons == {(5, "cell holds a formula"), (1, "column is not an engine column")}
    ws = openpyxl.load_workbook(path)["销售机会"]
    assert ws["E2"].value == "=D2*2"
    assert ws["A2"].value == 2
    assert ws["F2"].value == "ok"


def test_missing_sheet_raises(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    with pytest.raises(SheetNotFound, match="nope"):
        _apply(path, CellWrite("nope", 1, 1, 1))
    with pytest.raises(InvalidChange):
        _apply(path, sheets=(SheetContent("bad/name", ("a",)),))


def test_text_is_never_a_formula_and_is_cleaned(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    texts = [
        "=1+1",
        "+1",
        "-2",
        "@x",
        "\tx",
        "\rx",
        "a\x00b\x1fc",
        "<&>\"'",
        "_x0041_",
        "  pad  ",
        "行\n2",
    ]
    _apply(path, *(CellWrite("销售机会", 10 + i, 6, t) for i, t in enumerate(texts)))
    rows = _read(path)
    expected = [t.replace("\x00", "").replace("\x1f", "") for t in texts]
    assert [rows[10 + i - 1][5] for i in range(len(texts))] == expected
    ws = openpyxl.load_workbook(path)["销售机会"]
    assert ws["F10"].value == "=1+1" and ws["F10"].data_type == "s"


def test_none_clears_value_keeps_style(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    _apply(path, CellWrite("销售机会", 3, 4, None))
    ws = openpyxl.load_workbook(path)["销售机会"]
    assert ws["D3"].value is None
    assert ws["D3"].number_format == "#,##0.00"


def test_styles_of_new_cells(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    _apply(
        path,
        CellWrite("销售机会", 5, 4, 7),  # new row: style from D4 above
        CellWrite("销售机会", 5, 3, dt.date(2024, 6, 1)),  # keeps the date style from above
        CellWrite("销售机会", 5, 8, dt.date(2024, 6, 1)),  # nothing above: a date style is added
        CellWrite("销售机会", 6, 8, dt.date(2024, 6, 2)),  # reuses it
        CellWrite("销售机会", 2, 4, dt.date(2024, 6, 3)),  # existing number cell gets a date clone
    )
    ws = openpyxl.load_workbook(path)["销售机会"]
    assert ws["D5"].number_format == "#,##0.00"
    assert ws["C5"].number_format == "yyyy-mm-dd"
    assert ws["H5"].number_format == "yyyy-mm-dd"
    assert ws["H5"].style_id == ws["H6"].style_id
    assert ws["D2"].value == dt.datetime(2024, 6, 3)
    styles = zipfile.ZipFile(path).read("xl/styles.xml")
    n = len(re.findall(rb"<xf ", re.search(rb"<cellXfs.*?</cellXfs>", styles, re.S).group(0)))  # type: ignore[union-attr]
    assert re.search(rb'<cellXfs count="(\d+)"', styles).group(1) == str(n).encode()  # type: ignore[union-attr]
    # A later run writing more dates adds no further styles.
    _apply(path, CellWrite("销售机会", 7, 8, dt.date(2024, 6, 4)))
    assert zipfile.ZipFile(path).read("xl/styles.xml") == styles


def test_date1904_workbook(tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    shutil.copyfile(CORPUS / "date_1904.xlsx", path)
    name = python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names[0]
    apply_changes(
        path,
        ChangeSet(cells=(CellWrite(name, 30, 9, dt.date(2024, 3, 5)),), engine_columns={name: ALL}),
        expected=None,
    )
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()
    assert rows[29][8] == dt.date(2024, 3, 5)


def test_new_column_extends_excel_table(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Pool"
    ws.append(["id", "name", "region"])
    for i in range(3):
        ws.append([i, f"n{i}", "north"])
    ws.add_table(Table(displayName="PoolTable", ref="A1:C4"))
    wb.save(path)
    changes = ChangeSet(
        cells=tuple(CellWrite("Pool", r, 4, f"r{r}") for r in range(2, 5)),
        new_columns=(NewColumn("Pool", 4, "提醒", width=20, number_format="@"),),
        engine_columns={"Pool": frozenset({4})},
    )
    result = apply_changes(path, changes, expected=fingerprint(path))
    assert result.tables_extended == ("PoolTable",)
    assert [nc.header for nc in result.columns_added] == ["提醒"]
    table_xml = zipfile.ZipFile(path).read("xl/tables/table1.xml")
    assert b'ref="A1:D4"' in table_xml
    assert b'<tableColumns count="4">' in table_xml
    wb2 = openpyxl.load_workbook(path)
    table = wb2["Pool"].tables["PoolTable"]
    assert table.ref == "A1:D4"
    assert [c.name for c in table.tableColumns] == ["id", "name", "region", "提醒"]
    assert wb2["Pool"].column_dimensions["D"].width == 20
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Pool").to_python()
    )
    assert rows[0] == ["id", "name", "region", "提醒"]
    assert [r[3] for r in rows[1:]] == ["r2", "r3", "r4"]
    # Again: the header exists, nothing changes.
    assert not apply_changes(path, changes, expected=fingerprint(path)).written


def test_engine_sheet_replace_and_validations(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    v = (ListValidation("A2:A100", '"D,C,B,A,成交,丢单"'),)
    first = SheetContent(
        "阶段日志", ("时间", "机会"), (("t1", "O1"),), widths=(20, 10), validations=v
    )
    _apply(path, sheets=(first,))
    second = SheetContent("阶段日志", ("时间", "机会"), (("t1", "O1"), ("t2", "O2")), validations=v)
    result = _apply(path, sheets=(second,))
    assert result.sheets_replaced == ("阶段日志",)
    wb = openpyxl.load_workbook(path)
    ws = wb["阶段日志"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["时间", "机会"],
        ["t1", "O1"],
        ["t2", "O2"],
    ]
    assert ws["A1"].font.b
    assert ws.column_dimensions["A"].width == 20  # kept from the first write
    assert [d.formula1 for d in ws.data_validations.dataValidation] == ['"D,C,B,A,成交,丢单"']
    assert not _apply(path, sheets=(second,)).written


def _rewrite_sheet(path: Path, fix: object) -> None:
    src = zipfile.ZipFile(path)
    items = [(i, src.read(i)) for i in src.infolist()]
    src.close()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == "xl/worksheets/sheet1.xml":
                data = fix(data)  # type: ignore[operator]
            out.writestr(info, data)


def test_rows_and_cells_without_r_attributes(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    _rewrite_sheet(path, lambda d: re.sub(rb' r="[A-Z]*[0-9]+"', b"", d))
    assert b' r="' not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    _apply(
        path,
        CellWrite("销售机会", 3, 6, "f3"),
        CellWrite("销售机会", 3, 2, "b3"),
        CellWrite("销售机会", 8, 1, 8),
    )
    rows = _read(path)
    assert rows[2][:4] == [3, "b3", dt.date(2024, 3, 3), 300]
    assert rows[2][5] == "f3"
    assert rows[7][0] == 8
    assert openpyxl.load_workbook(path)["销售机会"]["F3"].value == "f3"


def test_prefixed_namespace(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")

    def prefix(d: bytes) -> bytes:
        d = re.sub(rb"<(/?)(?!\?)([A-Za-z]+[ >/])", rb"<\1x:\2", d)
        return d.replace(b'xmlns="http://schemas', b'xmlns:x="http://schemas', 1)

    _rewrite_sheet(path, prefix)
    assert b"<x:row" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    _apply(path, CellWrite("销售机会", 2, 6, "pre"), CellWrite("销售机会", 20, 6, "new"))
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert (
        b'<x:c r="F2" t="inlineStr"><x:is><x:t xml:space="preserve">pre</x:t></x:is></x:c>' in xml
    )
    assert b'<x:row r="20">' in xml
    rows = _read(path)
    assert rows[1][5] == "pre"
    assert rows[19][5] == "new"


def test_no_styles_part(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.xlsx")
    src = zipfile.ZipFile(path)
    items = [(i, src.read(i)) for i in src.infolist() if i.filename != "xl/styles.xml"]
    src.close()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = re.sub(rb"<Relationship [^>]*styles[^>]*/>", b"", data)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb' s="[0-9]+"', b"", data)
            if info.filename == "[Content_Types].xml":
                data = re.sub(rb"<Override [^>]*styles[^>]*/>", b"", data)
            out.writestr(info, data)
    _apply(path, CellWrite("销售机会", 2, 6, dt.date(2024, 1, 2)))
    assert zipfile.ZipFile(path).testzip() is None
    assert _read(path)[1][5] == dt.date(2024, 1, 2)
    assert openpyxl.load_workbook(path)["销售机会"]["F2"].value == dt.datetime(2024, 1, 2)
