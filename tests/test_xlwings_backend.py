"""The xlwings backend (funnel_sync/xlsx/live.py) against a fake xlwings module.

Excel does not run on Linux: the fake below stands in for `xlwings` (apps, books, sheets,
ranges), seeded from real .xlsx files with openpyxl. It imitates what matters here of how
Excel takes a value assigned to a cell: a string starting with "=" becomes a formula, one that
looks like a number or a date becomes one, a leading apostrophe keeps the rest as text, a cell
formatted "@" keeps strings as text. What it proves is the logic of live.py, not Excel's
behaviour: nothing here has run against a real Excel.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import POOL_OK, REPS_OK, run_cli, sha256, write_ledger
from openpyxl.utils import column_index_from_string

from funnel_sync.config import Config, Writer
from funnel_sync.plan import CellWrite, ChangeSet, ListValidation, NewColumn, SheetContent
from funnel_sync.sync import run_sync
from funnel_sync.xlsx import (
    InvalidChange,
    SheetNotFound,
    WorkbookChanged,
    WorkbookLocked,
    WorkbookReadOnly,
    WriteError,
    WriteResult,
    fingerprint,
    live,
)
from funnel_sync.xlsx.live import BackendUnavailable, UnsavedInExcel, apply_live, choose_backend

Cell = tuple[int, int]
Box = tuple[int, int, int, int]

# ------------------------------------------------------------------------------ the fake


def _ref(text: str) -> Cell:
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)", text.strip())
    assert m is not None, text
    return int(m.group(2)), column_index_from_string(m.group(1).upper())


_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*")


class FakeFont:
    def __init__(self, rng: FakeRange) -> None:
        self._rng = rng

    @property
    def bold(self) -> bool:
        return self._rng.sheet.bold.get(self._rng.cells()[0], False)

    @bold.setter
    def bold(self, value: bool) -> None:
        for cell in self._rng.cells():
            self._rng.sheet.bold[cell] = value


class FakeRange:
    """A rectangle of cells (1-based, inclusive), like xlwings.Range."""

    def __init__(self, sheet: FakeSheet, box: Box, ndim: int | None = None) -> None:
        self.sheet = sheet
        self.box = box
        self._ndim = ndim

    def cells(self) -> list[Cell]:
        r1, c1, r2, c2 = self.box
        return [(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]

    @property
    def row(self) -> int:
        return self.box[0]

    @property
    def column(self) -> int:
        return self.box[1]

    @property
    def last_cell(self) -> FakeRange:
        return FakeRange(self.sheet, (self.box[2], self.box[3], self.box[2], self.box[3]))

    def options(self, ndim: int | None = None) -> FakeRange:
        return FakeRange(self.sheet, self.box, ndim)

    # values: Excel's parsing of what is assigned, xlwings' conversions of what is read

    @property
    def value(self) -> Any:
        r1, c1, r2, c2 = self.box
        grid = [
            [self.sheet.values.get((r, c)) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)
        ]
        if self._ndim == 2:
            return grid
        if r1 == r2 and c1 == c2:
            return grid[0][0]
        if r1 == r2:
            return grid[0]
        if c1 == c2:
            return [row[0] for row in grid]
        return grid

    @value.setter
    def value(self, value: Any) -> None:
        r1, c1, _, _ = self.box
        if isinstance(value, list | tuple):
            rows = value if value and isinstance(value[0], list | tuple) else [value]
            for i, row in enumerate(rows):
                for j, v in enumerate(row):
                    self.sheet.put((r1 + i, c1 + j), v)
        else:
            for cell in self.cells():
                self.sheet.put(cell, value)

    @property
    def formula(self) -> str:
        cell = self.cells()[0]
        if cell in self.sheet.formulas:
            return self.sheet.formulas[cell]
        v = self.sheet.values.get(cell)
        if v is None:
            return ""
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    @formula.setter
    def formula(self, text: str) -> None:
        for cell in self.cells():
            self.sheet.put(cell, text)

    @property
    def number_format(self) -> str:
        return self.sheet.format_of(self.cells()[0])

    @number_format.setter
    def number_format(self, fmt: str) -> None:
        self.sheet.formats.append((self.box, fmt))

    @property
    def column_width(self) -> float:
        return self.sheet.widths.get(self.box[1], 8.43)

    @column_width.setter
    def column_width(self, width: float) -> None:
        for c in range(self.box[1], self.box[3] + 1):
            self.sheet.widths[c] = width

    @property
    def font(self) -> FakeFont:
        return FakeFont(self)

    def clear_contents(self) -> None:
        for cell in self.cells():
            self.sheet.values.pop(cell, None)
            self.sheet.formulas.pop(cell, None)

    def clear(self) -> None:
        self.clear_contents()
        for cell in self.cells():
            self.sheet.bold.pop(cell, None)
        self.sheet.formats.append((self.box, "General"))


class FakeSheet:
    def __init__(self, book: FakeBook, name: str) -> None:
        self.book = book
        self.name = name
        self.values: dict[Cell, Any] = {}
        self.formulas: dict[Cell, str] = {}
        self.formats: list[tuple[Box, str]] = []  # later rules win, as in Excel
        self.bold: dict[Cell, bool] = {}
        self.widths: dict[int, float] = {}
        self.writes = 0

    def format_of(self, cell: Cell) -> str:
        r, c = cell
        for (r1, c1, r2, c2), fmt in reversed(self.formats):
            if r1 <= r <= r2 and c1 <= c <= c2:
                return fmt
        return "General"

    def put(self, cell: Cell, v: Any) -> None:
        """Assign a value as Excel takes it through Range.Value."""
        self.writes += 1
        self.formulas.pop(cell, None)
        self.values.pop(cell, None)
        if v is None or v == "":
            return
        if isinstance(v, str):
            if self.format_of(cell) == "@":
                self.values[cell] = v
            elif v.startswith("'"):
                self.values[cell] = v[1:]
            elif v.startswith("="):
                self.formulas[cell] = v  # not calculated: its value reads None
            elif _NUMBER.fullmatch(v):
                self.values[cell] = float(v)
            elif v[0] in "+-@":  # Lotus-style entry: '+A1', '@SUM(A1)' become formulas
                self.formulas[cell] = "=" + (v[1:] if v[0] == "@" else v)
            elif (m := _ISO_DATE.fullmatch(v)) is not None:
                y, mo, d = (int(g) for g in m.groups())
                self.values[cell] = dt.datetime(y, mo, d)
            elif v.strip().upper() in ("TRUE", "FALSE"):
                self.values[cell] = v.strip().upper() == "TRUE"
            else:
                self.values[cell] = v
        elif isinstance(v, bool):
            self.values[cell] = v
        elif isinstance(v, int | float):
            self.values[cell] = float(v)
        elif isinstance(v, dt.datetime):
            self.values[cell] = v
        elif isinstance(v, dt.date):
            self.values[cell] = dt.datetime.combine(v, dt.time())
        else:
            raise TypeError(f"Excel takes no {type(v).__name__}")

    def range(self, a: str | Cell, b: Cell | None = None) -> FakeRange:
        if isinstance(a, str):
            parts = [_ref(p) for p in a.split(":")]
            (r1, c1), (r2, c2) = parts[0], parts[-1]
        else:
            (r1, c1), (r2, c2) = a, b or a
        return FakeRange(self, (min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))

    def cells(self, row: int, column: int) -> FakeRange:
        return self.range((row, column))

    @property
    def used_range(self) -> FakeRange:
        used = set(self.values) | set(self.formulas)
        if not used:
            return self.range((1, 1))
        rows = [r for r, _ in used]
        cols = [c for _, c in used]
        return FakeRange(self, (min(rows), min(cols), max(rows), max(cols)))

    def activate(self) -> FakeSheet:
        self.book.sheets.shown = self
        return self

    def text(self, ref: str) -> Any:
        """What the cell shows as a value (tests only)."""
        return self.range(ref).value


class FakeSheets:
    def __init__(self, book: FakeBook) -> None:
        self.book = book
        self.items: list[FakeSheet] = []
        self.added: list[str] = []
        self.shown: FakeSheet | None = None  # the active sheet

    @property
    def active(self) -> FakeSheet:
        return self.shown or self.items[0]

    def __iter__(self) -> Iterator[FakeSheet]:
        return iter(list(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | str) -> FakeSheet:
        if isinstance(key, int):
            return self.items[key]
        for s in self.items:
            if s.name.casefold() == key.casefold():
                return s
        raise KeyError(key)

    def add(
        self,
        name: str | None = None,
        before: FakeSheet | None = None,
        after: FakeSheet | None = None,
    ) -> FakeSheet:
        sheet = FakeSheet(self.book, name or f"Sheet{len(self.items) + 1}")
        if after is not None:
            self.items.insert(self.items.index(after) + 1, sheet)
        elif before is not None:
            self.items.insert(self.items.index(before), sheet)
        else:
            self.items.insert(0, sheet)  # Excel adds before the active sheet
        self.added.append(sheet.name)
        self.shown = sheet  # Excel shows a sheet it adds
        return sheet


class FakeBook:
    def __init__(self, app: FakeApp, fullname: str) -> None:
        self.app = app
        self.fullname = fullname
        self.name = Path(fullname).name
        self.sheets = FakeSheets(self)
        self.saves = 0
        self.closed = False
        # the COM properties live.py reads (Workbook.Saved, Workbook.ReadOnly)
        self.api = types.SimpleNamespace(Saved=True, ReadOnly=False)

    def save(self) -> None:
        self.saves += 1

    def close(self) -> None:
        self.closed = True
        self.app.books.remove(self)

    @classmethod
    def load(cls, app: FakeApp, path: Path, fullname: str | None = None) -> FakeBook:
        """A book holding what the .xlsx at `path` holds: values, formulas, number formats."""
        book = cls(app, fullname or str(path))
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            sheet = book.sheets.add(ws.title, after=book.sheets.items[-1] if book.sheets else None)
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.row is not None and cell.column is not None
                    key = (cell.row, cell.column)
                    if cell.number_format != "General":
                        sheet.formats.append(((*key, *key), cell.number_format))
                    if cell.data_type == "f":
                        sheet.formulas[key] = str(cell.value)
                    elif cell.value is not None:
                        v = cell.value
                        sheet.values[key] = (
                            float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                        )
        book.sheets.added.clear()
        book.sheets.shown = None
        app.books.append(book)
        return book


class FakeApp:
    _next_pid = 100

    def __init__(self) -> None:
        FakeApp._next_pid += 1
        self.pid = FakeApp._next_pid
        self.books: list[FakeBook] = []
        self.quit_called = False

    def quit(self) -> None:
        self.quit_called = True


class FakeXlwings(types.ModuleType):
    """The module: `apps`, `books` (of the active app), `Book(fullname)`."""

    def __init__(self) -> None:
        super().__init__("xlwings")
        self.apps: list[FakeApp] = []
        self.opened: list[str] = []

    @property
    def books(self) -> list[FakeBook]:
        return self.apps[0].books if self.apps else []

    def open_book(self, path: Path, fullname: str | None = None) -> FakeBook:
        """The workbook as a person opened it in Excel."""
        if not self.apps:
            self.apps.append(FakeApp())
        return FakeBook.load(self.apps[0], path, fullname)

    def Book(self, fullname: str) -> FakeBook:  # xlwings' spelling
        for app in self.apps:
            for book in app.books:
                if book.fullname == fullname:
                    return book
        self.opened.append(fullname)
        if not self.apps:
            self.apps.append(FakeApp())
        return FakeBook.load(self.apps[-1], Path(fullname))


# ------------------------------------------------------------------------------ fixtures

S = "Data"
D0 = dt.date(2026, 3, 2)


def data_book(tmp_path: Path, name: str = "team.xlsx") -> Path:
    """A team's sheet: ID, Name, Total (a formula), Reminder, Next contact, Note (team's)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = S
    ws.append(["ID", "Name", "Total", "Reminder", "Next contact", "Note"])
    ws.append(["KH001", "甲公司", "=1+1", "call", D0, "vip"])
    ws.append(["KH002", "乙公司", "=2+2", None, None, None])
    ws.append(["KH003", "丙公司", 7, "=A1", None, None])  # D4: a formula in an engine column
    ws["E2"].number_format = "yyyy-mm-dd"
    other = wb.create_sheet("Notes")
    other.append(["free text"])
    path = tmp_path / name
    wb.save(path)
    return path


ENGINE = {S: frozenset({3, 4, 5})}


@pytest.fixture
def xw() -> FakeXlwings:
    return FakeXlwings()


def changes(*cells: CellWrite, **kw: Any) -> ChangeSet:
    return ChangeSet(cells=cells, engine_columns=kw.pop("engine_columns", ENGINE), **kw)


# ------------------------------------------------------------------------------ cells


def test_engine_cells_are_written_and_only_the_differences(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    sheet = book.sheets[S]
    cs = changes(
        CellWrite(S, 2, 4, "call"),  # already there
        CellWrite(S, 2, 5, D0),  # already there (read back as a datetime)
        CellWrite(S, 3, 4, "overdue 3 days"),
        CellWrite(S, 3, 5, D0 + dt.timedelta(days=7)),  # a General cell: gets a date format
        CellWrite(S, 2, 4, "call"),
    )
    result = apply_live(path, cs, xw=xw)
    assert result.written and book.saves == 1
    assert [(c.row, c.column, c.old, c.new) for c in result.changes] == [
        (3, 4, None, "overdue 3 days"),
        (3, 5, None, D0 + dt.timedelta(days=7)),
    ]
    assert sheet.writes == 2 and result.refused == ()
    assert sheet.text("D3") == "overdue 3 days"
    assert sheet.text("E3") == dt.datetime(2026, 3, 9)
    assert sheet.range("E3").number_format == "yyyy-mm-dd"
    assert sheet.range("E2").number_format == "yyyy-mm-dd"
    # the same change set again: nothing differs, nothing written, not saved again
    again = apply_live(path, cs, xw=xw)
    assert (again.written, again.changes, book.saves, sheet.writes) == (False, (), 1, 2)


def test_a_no_op_change_set_is_not_saved(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    result = apply_live(path, changes(CellWrite(S, 2, 4, "call"), CellWrite(S, 3, 4, "")), xw=xw)
    assert (result.written, result.changes, book.saves) == (False, (), 0)
    assert apply_live(path, ChangeSet(), xw=xw) == WriteResult(path=path)


def test_a_cell_in_its_own_format_keeps_it_and_a_datetime_gets_the_datetime_format(
    tmp_path: Path, xw: FakeXlwings
) -> None:
    path = data_book(tmp_path)
    sheet = xw.open_book(path).sheets[S]
    sheet.range("E3").number_format = "d mmm"
    moment = dt.datetime(2026, 3, 5, 9, 30)
    apply_live(path, changes(CellWrite(S, 3, 5, D0), CellWrite(S, 2, 3, 1.5)), xw=xw)
    apply_live(path, changes(CellWrite(S, 3, 3, 2), CellWrite(S, 3, 5, D0)), xw=xw)
    assert sheet.range("E3").number_format == "d mmm"
    apply_live(path, changes(CellWrite(S, 3, 5, moment)), xw=xw)
    assert (sheet.text("E3"), sheet.range("E3").number_format) == (moment, "d mmm")
    sheet.range("E3").number_format = "General"
    result = apply_live(path, changes(CellWrite(S, 3, 5, None)), xw=xw)
    assert [(c.old, c.new) for c in result.changes] == [(moment, None)]
    apply_live(path, changes(CellWrite(S, 3, 5, moment)), xw=xw)
    assert sheet.range("E3").number_format == "yyyy-mm-dd hh:mm"


def test_formula_cells_and_team_columns_are_refused(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    sheet = book.sheets[S]
    cs = changes(
        CellWrite(S, 2, 3, 99),  # C2 holds =1+1
        CellWrite(S, 4, 4, "x"),  # D4 holds =A1
        CellWrite(S, 2, 6, "not vip"),  # F: the team's column
        CellWrite(S, 2, 1, "KH999"),  # A: the team's column
        CellWrite(S, 0, 4, "x"),
        CellWrite(S, 3, 4, float("nan")),
    )
    result = apply_live(path, cs, xw=xw)
    assert [(r.write.row, r.write.column, r.reason) for r in result.refused] == [
        (2, 6, "column is not an engine column"),
        (2, 1, "column is not an engine column"),
        (0, 4, "cell outside the sheet"),
        (3, 4, "a non-finite number cannot be stored in Excel"),
        (2, 3, "cell holds a formula"),
        (4, 4, "cell holds a formula"),
    ]
    assert (result.written, book.saves, sheet.writes) == (False, 0, 0)
    assert (sheet.formulas[(2, 3)], sheet.formulas[(4, 4)], sheet.text("F2")) == (
        "=1+1",
        "=A1",
        "vip",
    )


@pytest.mark.parametrize(
    "text",
    ["=cmd|' /C calc'!A0", "+1", "-5", "@SUM(A1)", "13800138000", "2024-03-05", "TRUE", "'q"],
)
def test_text_that_excel_would_reinterpret_is_written_as_text(
    tmp_path: Path, xw: FakeXlwings, text: str
) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    sheet = book.sheets[S]
    naive = sheet.range("D10")
    naive.value = text  # what a plain assignment does in Excel (and in the fake)
    assert naive.value != text or (10, 4) in sheet.formulas
    result = apply_live(path, changes(CellWrite(S, 3, 4, text)), xw=xw)
    assert [c.new for c in result.changes] == [text]
    assert (sheet.text("D3"), (3, 4) in sheet.formulas) == (text, False)
    assert sheet.range("D3").number_format == "General"  # no "@" left behind in the cell
    # a second run sees its own text, not a formula, and writes nothing
    again = apply_live(path, changes(CellWrite(S, 3, 4, text)), xw=xw)
    assert (again.refused, again.changes, book.saves) == ((), (), 1)


def test_plain_text_gets_no_apostrophe() -> None:
    assert live.excel_value("请联系客户") == "请联系客户"
    assert live.excel_value("overdue") == "overdue"
    assert live.excel_value("逾期 3 天") == "'逾期 3 天"  # digits: Excel might read a number
    assert live.excel_value("3月5日") == "'3月5日"
    assert live.excel_value("") is None
    assert live.excel_value(D0) == dt.datetime(2026, 3, 2)


def test_a_cell_write_to_a_missing_sheet_is_refused_whole(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    with pytest.raises(SheetNotFound):
        apply_live(path, changes(CellWrite(S, 3, 4, "x"), CellWrite("Nope", 2, 1, "x")), xw=xw)
    assert (book.saves, book.sheets[S].writes) == (0, 0)
    bad = ChangeSet(sheets=(SheetContent("a/b", ("x",)),))
    with pytest.raises(InvalidChange):
        apply_live(path, bad, xw=xw)


# ------------------------------------------------------------------------------ new columns


def test_a_new_column_gets_its_header_format_and_width(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    sheet = book.sheets[S]
    nc = NewColumn(S, 7, "Due", 1, "yyyy-mm-dd", 14.0)
    cs = ChangeSet(
        cells=(CellWrite(S, 3, 7, D0), CellWrite(S, 1, 7, "clash")),
        new_columns=(nc,),
        engine_columns={S: frozenset({7})},
    )
    result = apply_live(path, cs, xw=xw)
    assert result.columns_added == (nc,)
    assert [(r.write.row, r.reason) for r in result.refused] == [
        (1, "cell is the header of a new column")
    ]
    assert (sheet.text("G1"), sheet.text("G3")) == ("Due", dt.datetime(2026, 3, 2))
    assert sheet.widths[7] == 14.0
    assert sheet.range("G500").number_format == "yyyy-mm-dd"
    assert sheet.range("G1").number_format == "General"
    again = apply_live(path, cs, xw=xw)
    assert (again.columns_added, again.changes, book.saves) == ((), (), 1)
    taken = ChangeSet(new_columns=(NewColumn(S, 6, "Due"),))  # F1 holds "Note"
    result = apply_live(path, taken, xw=xw)
    assert [r.reason for r in result.refused] == ["header cell is not empty"]


# ------------------------------------------------------------------------------ engine sheets

TODAY_SHEET = SheetContent(
    "Today",
    ("Rep", "#", "Phone", "Due"),
    (("张三", 1, "13800138000", D0), ("李四", 2, "=HYPERLINK(1)", None)),
    (None, None, None, None),
    (10.0, 4.0, 16.0, None),
    validations=(ListValidation("A2:A100", '"张三,李四"'),),
)


def test_an_engine_sheet_is_created_after_the_last_sheet(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    result = apply_live(path, ChangeSet(sheets=(TODAY_SHEET,)), xw=xw)
    assert (result.sheets_created, result.sheets_replaced, book.saves) == (("Today",), (), 1)
    assert [s.name for s in book.sheets] == [S, "Notes", "Today"]
    assert book.sheets.active.name == S  # the sheet the user was looking at
    today = book.sheets["Today"]
    assert today.range("A1:D3").value == [
        ["Rep", "#", "Phone", "Due"],
        ["张三", 1.0, "13800138000", dt.datetime(2026, 3, 2)],
        ["李四", 2.0, "=HYPERLINK(1)", None],
    ]
    assert today.formulas == {}
    assert all(today.range((1, c)).font.bold for c in range(1, 5))
    assert not today.range("A2").font.bold
    assert today.range("D2").number_format == "yyyy-mm-dd"
    assert today.range("D9000").number_format == "yyyy-mm-dd"  # the whole column, for later
    assert today.widths == {1: 10.0, 2: 4.0, 3: 16.0}
    # the same content again: not replaced, not saved
    again = apply_live(path, ChangeSet(sheets=(TODAY_SHEET,)), xw=xw)
    assert (again.sheets_created, again.sheets_replaced, again.written, book.saves) == (
        (),
        (),
        False,
        1,
    )


def test_an_engine_sheet_is_replaced_whole(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    apply_live(path, ChangeSet(sheets=(TODAY_SHEET,)), xw=xw)
    today = book.sheets["today"]
    today.range("F20").value = "left over"
    shorter = replace(TODAY_SHEET, rows=(("王五", 1, "", D0 + dt.timedelta(days=1)),))
    result = apply_live(path, ChangeSet(sheets=(shorter,)), xw=xw)
    assert (result.sheets_created, result.sheets_replaced, book.saves) == ((), ("Today",), 2)
    used = today.used_range
    assert (used.last_cell.row, used.last_cell.column) == (2, 4)
    assert today.range("A1:D2").value == [
        ["Rep", "#", "Phone", "Due"],
        ["王五", 1.0, None, dt.datetime(2026, 3, 3)],
    ]
    assert today.range("D2").number_format == "yyyy-mm-dd"
    assert today.range("A1").font.bold
    assert [s.name for s in book.sheets] == [S, "Notes", "Today"]


# ------------------------------------------------------------------------------ the open book


def test_the_book_is_found_by_path_whatever_the_case_on_windows(
    tmp_path: Path, xw: FakeXlwings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = data_book(tmp_path)
    xw.apps += [FakeApp(), FakeApp()]  # two Excels; the second has another book and ours
    xw.apps[1].books.append(FakeBook(xw.apps[1], str(tmp_path / "other.xlsx")))
    book = FakeBook.load(xw.apps[1], path, str(path).upper())
    monkeypatch.setattr(sys, "platform", "win32")
    assert live.find_open_book(xw, path) is book
    monkeypatch.setattr(sys, "platform", "linux")
    assert live.find_open_book(xw, path) is None


def test_a_book_not_open_is_opened_saved_and_closed(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    result = apply_live(path, changes(CellWrite(S, 3, 4, "x")), xw=xw)
    assert result.written and xw.opened == [str(path)]
    (app,) = xw.apps
    assert app.books == [] and app.quit_called  # the Excel it started is quit again


def test_a_book_open_in_another_users_excel_is_locked(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    (tmp_path / "~$team.xlsx").write_bytes(owner_file("Alice"))
    with pytest.raises(WorkbookLocked, match="Alice"):
        apply_live(path, changes(CellWrite(S, 3, 4, "x")), xw=xw)
    assert xw.opened == []


def test_unsaved_edits_in_excel_or_a_read_only_book_are_refused(
    tmp_path: Path, xw: FakeXlwings
) -> None:
    path = data_book(tmp_path)
    book = xw.open_book(path)
    book.api.Saved = False
    with pytest.raises(UnsavedInExcel, match="save it in Excel"):
        apply_live(path, changes(CellWrite(S, 3, 4, "x")), xw=xw)
    book.api.Saved, book.api.ReadOnly = True, True
    with pytest.raises(WorkbookReadOnly):
        apply_live(path, changes(CellWrite(S, 3, 4, "x")), xw=xw)
    assert (book.saves, book.sheets[S].writes) == (0, 0)


def test_a_file_changed_since_it_was_read_is_refused(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    before = fingerprint(path)
    book = xw.open_book(path)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(WorkbookChanged):
        apply_live(path, changes(CellWrite(S, 3, 4, "x")), xw=xw, expected=before)
    assert book.saves == 0


def test_the_file_is_backed_up_before_excel_saves_it(tmp_path: Path, xw: FakeXlwings) -> None:
    path = data_book(tmp_path)
    xw.open_book(path)
    result = apply_live(
        path, changes(CellWrite(S, 3, 4, "x")), xw=xw, expected=fingerprint(path), backups=2
    )
    assert result.backup is not None and result.backup.read_bytes() == path.read_bytes()
    assert result.fingerprint == fingerprint(path)


# ------------------------------------------------------------------------------ choose_backend


def owner_file(user: str) -> bytes:
    """An Excel owner file: the user name as a length-prefixed 8-bit string, padded."""
    raw = user.encode()
    return bytes([len(raw)]) + raw + b"\0" * (162 - 1 - len(raw))


@pytest.mark.parametrize("platform", ["win32", "darwin", "linux"])
@pytest.mark.parametrize("owner", [True, False])
@pytest.mark.parametrize("importable", [True, False])
@pytest.mark.parametrize("backend", ["file", "xlwings", "auto"])
def test_choose_backend(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    platform: str,
    owner: bool,
    importable: bool,
    backend: str,
) -> None:
    path = data_book(tmp_path)
    if owner:
        (tmp_path / "~$team.xlsx").write_bytes(owner_file("Alice"))
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setitem(sys.modules, "xlwings", FakeXlwings() if importable else None)
    live_ok = platform in ("win32", "darwin") and importable
    if backend == "file":
        assert choose_backend(path, backend) == "file"
    elif backend == "xlwings":
        if live_ok:
            assert choose_backend(path, backend) == "xlwings"
        else:
            with pytest.raises(BackendUnavailable) as err:
                choose_backend(path, backend)
            why = "not installed" if platform != "linux" else "only on Windows and macOS"
            assert why in str(err.value) or "cannot be imported" in str(err.value)
            assert isinstance(err.value, WriteError)
    else:
        assert choose_backend(path, backend) == ("xlwings" if owner and live_ok else "file")


def test_a_libreoffice_lock_is_not_excel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_book(tmp_path)
    (tmp_path / ".~lock.team.xlsx#").write_text("Bob,bob,host,now,url;", encoding="utf-8")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "xlwings", FakeXlwings())
    assert choose_backend(path, "auto") == "file"
    with pytest.raises(ValueError, match="unknown writer backend"):
        choose_backend(path, "excel")


# ------------------------------------------------------------------------------ through sync

OPPS = (
    {
        "opportunity_id": "JH001",
        "customer_id": "KH001",
        "owner": "张三",
        "stage": "D",
        "amount": 50_000,
    },
)


def synced_ledger(tmp_path: Path) -> Path:
    """A ledger synced on D0 (by the file writer), now open in Excel by Alice."""
    path = write_ledger(tmp_path / "book.xlsx", pool=POOL_OK, reps=REPS_OK, opportunities=OPPS)
    first = run_sync(path, Config(), D0)
    assert first.write is not None and first.write.written
    (tmp_path / "~$book.xlsx").write_bytes(owner_file("Alice"))
    return path


#: 20 days after the first sync: contact with KH001 (class D, every 14 days) is overdue.
LATER = D0 + dt.timedelta(days=20)


def auto() -> Config:
    return replace(Config(), writer=Writer(backend="auto"))


def test_sync_with_auto_writes_an_open_workbook_through_excel_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = synced_ledger(tmp_path)
    before = sha256(path)
    xw = FakeXlwings()
    book = xw.open_book(path)
    monkeypatch.setitem(sys.modules, "xlwings", xw)
    monkeypatch.setattr(sys, "platform", "win32")
    result = run_sync(path, auto(), LATER)
    assert result.write is not None and result.write.written
    assert book.saves == 1 and result.write.changes
    assert result.write.sheets_replaced == ("今日提醒",) and result.today_rows
    today = book.sheets["今日提醒"].range("A2:D2").value
    assert today[0] == "张三" and today[3] == "KH001"
    assert sha256(path) == before  # the fake's save writes no file: Excel would
    pool = book.sheets["公共资源库"]
    written = {(c.sheet, c.row, c.column): c.new for c in result.write.changes}
    for (sheet_name, row, column), new in written.items():
        if sheet_name == pool.name:
            assert live._same(pool.range((row, column)).value, new)
    # the next sync reads the same file; the open book already holds it all: nothing to save
    again = run_sync(path, auto(), LATER)
    assert again.write is not None and not again.write.written and book.saves == 1


def test_sync_with_auto_on_linux_still_refuses_the_open_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = synced_ledger(tmp_path)
    before = sha256(path)
    xw = FakeXlwings()
    book = xw.open_book(path)
    monkeypatch.setitem(sys.modules, "xlwings", xw)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(WorkbookLocked, match="Alice"):
        run_sync(path, auto(), LATER)
    config = tmp_path / "funnel.toml"
    config.write_text('[writer]\nbackend = "auto"\n', encoding="utf-8")
    code, _, stderr = run_cli(
        "sync", str(path), "--today", LATER.isoformat(), "--config", str(config)
    )
    assert code == 2 and "Alice" in stderr and "Traceback" not in stderr
    assert (sha256(path), book.saves) == (before, 0)


def test_sync_with_xlwings_on_linux_is_a_clear_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_ledger(tmp_path / "book.xlsx", pool=POOL_OK, reps=REPS_OK, opportunities=OPPS)
    monkeypatch.setattr(sys, "platform", "linux")
    config = tmp_path / "funnel.toml"
    config.write_text('[writer]\nbackend = "xlwings"\n', encoding="utf-8")
    code, _, stderr = run_cli("sync", str(path), "--today", D0.isoformat(), "--config", str(config))
    assert code == 2 and "only on Windows and macOS" in stderr and "Traceback" not in stderr


def test_init_into_with_auto_adds_the_ledger_sheets_through_excel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from funnel_sync.adopt import adopt_workbook
    from funnel_sync.schema import SHEETS

    path = data_book(tmp_path)
    (tmp_path / "~$team.xlsx").write_bytes(owner_file("Alice"))
    xw = FakeXlwings()
    book = xw.open_book(path)
    monkeypatch.setitem(sys.modules, "xlwings", xw)
    monkeypatch.setattr(sys, "platform", "darwin")
    result = adopt_workbook(path, auto())
    titles = [spec.title("zh") for spec in SHEETS]
    assert result.written and result.sheets_created == tuple(titles) and book.saves == 1
    assert [s.name for s in book.sheets] == [S, "Notes", *titles]
    # planned again from the file on disk, but the open book has every sheet: nothing to save
    assert adopt_workbook(path, auto()).written is False
    assert book.saves == 1
